/**
 * When each column first appeared in the samples: the instant its usage is
 * known from. A meter added to the config mid-cycle has a column from its
 * first sample on; before it, its traffic is unknown, not zero, so a cycle's
 * estimate counts its time from there, column by column
 * (lib/usage/projection.ts `cycleEstimate`).
 *
 * And which columns the newest sample has: a column it no longer has was
 * removed from the config (its meter counts no more traffic), so its cycle is
 * what it counted, not projected on. A column missing only from samples
 * before the newest (a gap, a meter removed and added back) is not removed.
 *
 * @module
 */

import type { Sample } from "./engine.ts";

/**
 * The first instant each column was seen. Note samples in any order (hosts
 * of a fleet interleave): the earliest counts. Noting costs a comparison a
 * sample while the columns array does not change (as log readers pass it).
 *
 * @example
 * ```ts
 * const seen = new FirstSeen();
 * seen.note({ epoch: 0, columns: ["base"], counters: [0] });
 * seen.note({ epoch: 20, columns: ["base", "late"], counters: [20, 0] });
 * seen.of(["late"]); // 20
 * seen.of(["base", "late"]); // 0: the earliest of its columns
 * seen.of(["unknown"]); // 0: the first sample's
 * seen.note({ epoch: 30, columns: ["late"], counters: [30] });
 * seen.removed("base"); // true: the newest sample has no such column
 * ```
 */
export class FirstSeen {
  readonly #first = new Map<string, number>();
  /** The columns array of the sample noted last, and its instant. */
  #columns: readonly string[] | undefined;
  #last = NaN;
  #epoch = NaN;
  /** Samples from this instant on are not the newest (`--to`): they are after the time asked about. */
  readonly #before: number;
  /** The columns of the newest sample (before `#before`), and its instant. */
  #newest: readonly string[] = [];
  #newestEpoch = -Infinity;
  /** The newest columns of other hosts added ({@linkcode FirstSeen.add}). */
  #others: Set<string> | undefined;
  /** `#newest` and `#others` as one set, made when asked for. */
  #current: Set<string> | undefined;

  /** Each column's first sample; the newest sample is the newest before `before` (default: any). */
  constructor(before = Infinity) {
    this.#before = before;
  }

  /** Notes `sample`'s columns as seen at its instant (unless seen before it). */
  note(sample: Pick<Sample, "epoch" | "columns">): void {
    const epoch = sample.epoch;
    if (!(epoch >= this.#epoch)) this.#epoch = epoch;
    if (epoch >= this.#newestEpoch && epoch < this.#before) {
      this.#newestEpoch = epoch;
      if (sample.columns !== this.#newest) {
        this.#newest = sample.columns;
        this.#current = undefined;
      }
    }
    // The same columns as the sample before, in time order: nothing new.
    if (sample.columns === this.#columns && epoch >= this.#last) return;
    this.#columns = sample.columns;
    this.#last = epoch;
    for (const c of sample.columns) {
      const at = this.#first.get(c);
      if (at === undefined || epoch < at) this.#first.set(c, epoch);
    }
  }

  /** The first sample's instant (NaN before any). */
  get first(): number {
    return this.#epoch;
  }

  /**
   * The first instant any of `columns` was seen: that of a customer's
   * columns, or of one column. A column never seen counts from the first
   * sample, as every column did before columns were told apart. NaN before
   * any sample.
   */
  of(columns: readonly string[]): number {
    let at = Infinity;
    for (const c of columns) at = Math.min(at, this.#first.get(c) ?? this.#epoch);
    return at === Infinity ? this.#epoch : at;
  }

  /** Whether any sample noted (or added) has `column`. */
  saw(column: string): boolean {
    return this.#first.has(column);
  }

  /**
   * Whether the newest sample (of any host added) no longer has `column`:
   * its meter was removed from the config. False before any sample.
   */
  removed(column: string): boolean {
    if (this.#newestEpoch === -Infinity && this.#others === undefined) return false;
    this.#current ??= new Set([...this.#newest, ...(this.#others ?? [])]);
    return !this.#current.has(column);
  }

  /**
   * Adds what `other` saw (another host's samples): the earliest of each
   * column counts, and a column is removed only when no host's newest sample
   * has it (hosts sample at different instants: one's newest is not all's).
   */
  add(other: FirstSeen): void {
    if (!(other.#epoch >= this.#epoch)) this.#epoch = other.#epoch;
    if (other.#newestEpoch !== -Infinity || other.#others !== undefined) {
      const others = this.#others ??= new Set();
      for (const c of other.#newest) others.add(c);
      for (const c of other.#others ?? []) others.add(c);
      this.#current = undefined;
    }
    for (const [c, at] of other.#first) {
      const mine = this.#first.get(c);
      if (mine === undefined || at < mine) this.#first.set(c, at);
    }
  }
}
