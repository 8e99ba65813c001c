/**
 * What every output of a report implements: the report's mail, the SQLite
 * store and each output added after them (the Prometheus textfile, the
 * PostgreSQL store, alerts) is one module returning one of these, and the
 * report runs them in one place.
 *
 * @module
 */

import type { BesideStep, Prepared, Recorded, Replacement } from "../state/record.ts";

/** Something a report writes from its sample. */
export interface SampleOutput {
  /** Its name in messages. */
  readonly name: string;
  /**
   * Called with the state lock held before the sample is appended to the log: state files kept in step with
   * `netmon.last` (the running totals), written and synced, to be renamed after the append. Must not throw:
   * a failure here is kept and reported by `recorded`, so that it never costs the sample.
   */
  beforeAppend?(step: BesideStep): Promise<Replacement[]>;
  /**
   * Called with the state lock held before the sample is logged, to make what
   * must not be lost with it (the report's mail): committed once the sample
   * is in the log, abandoned if it never gets there.
   */
  prepare?(r: Recorded): Prepared | void | Promise<Prepared | void>;
  /**
   * Called with the state lock held, once the sample is in the log and the
   * last file: what must be consistent with the log (a spooled mail, a
   * recorded alert) is written here. A failure is reported after the report
   * is printed; the sample is never lost for it.
   */
  recorded?(r: Recorded): Promise<void> | void;
  /** Called after the lock is released and the report printed (e.g. delivering the spool). */
  after?(): Promise<void> | void;
}

/**
 * Runs `step` of every output in order; a failure does not stop the others.
 * Returns the first failure, to be thrown once everything else is done.
 */
export async function runOutputs(
  outputs: readonly SampleOutput[],
  step: (o: SampleOutput) => Promise<void> | void,
): Promise<unknown> {
  let failure: unknown;
  for (const o of outputs) {
    try {
      await step(o);
    } catch (e) {
      failure ??= e;
    }
  }
  return failure;
}
