/**
 * When each column first appeared in the samples: the instant its usage is
 * known from. A meter added to the config mid-cycle has a column from its
 * first sample on; before it, its traffic is unknown, not zero, so a cycle's
 * estimate counts its time from there, column by column
 * (lib/usage/projection.ts `cycleEstimate`).
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
 * ```
 */
export class FirstSeen {
  readonly #first = new Map<string, number>();
  /** The columns array of the sample noted last, and its instant. */
  #columns: readonly string[] | undefined;
  #last = NaN;
  #epoch = NaN;

  /** Notes `sample`'s columns as seen at its instant (unless seen before it). */
  note(sample: Pick<Sample, "epoch" | "columns">): void {
    const epoch = sample.epoch;
    if (!(epoch >= this.#epoch)) this.#epoch = epoch;
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

  /** Adds what `other` saw (another host's samples): the earliest of each column counts. */
  add(other: FirstSeen): void {
    if (!(other.#epoch >= this.#epoch)) this.#epoch = other.#epoch;
    for (const [c, at] of other.#first) {
      const mine = this.#first.get(c);
      if (mine === undefined || at < mine) this.#first.set(c, at);
    }
  }
}
