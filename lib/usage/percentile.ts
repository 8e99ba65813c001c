/**
 * The time-weighted 95th percentile of interval rates: burstable billing as
 * hosting providers and transit carriers do it.
 *
 * Each interval between consecutive samples has a rate (its usage times 8
 * over its length in seconds: bit/s) and a weight (its length, or the part of
 * it inside the bucket). The percentile is the smallest rate r such that the
 * intervals with a rate of at most r weigh at least 95% of the total: with N
 * equal intervals, the ceil(0.95·N)-th smallest rate (drop the top 5%, take
 * the highest left).
 *
 * Found by a weighted quickselect: linear time on average, no sort.
 *
 * @module
 */

/** The rate in bit/s of `bytes` over `ms` milliseconds. */
export function rateOf(bytes: number, ms: number): number {
  return (bytes * 8000) / ms;
}

/**
 * The weighted `q`-quantile (default 0.95) of the first `length` entries of
 * `rates`, each weighing the matching entry of `weights` (whole
 * milliseconds, so that the comparison with the total is exact). Entries
 * that are NaN or weigh nothing are left out; undefined when none is left.
 * The arrays are not changed.
 *
 * @example
 * ```ts
 * const rates = Float64Array.from({ length: 20 }, (_, i) => i + 1);
 * const weights = new Float64Array(20).fill(300_000);
 * weightedPercentile(rates, weights, 20); // 19: the 19th of 20 equal intervals
 * ```
 */
export function weightedPercentile(
  rates: ArrayLike<number>,
  weights: ArrayLike<number>,
  length: number,
  q = 0.95,
): number | undefined {
  const r = new Float64Array(length);
  const w = new Float64Array(length);
  let n = 0;
  let total = 0;
  for (let i = 0; i < length; i++) {
    const x = rates[i] as number;
    const wi = weights[i] as number;
    if (x !== x || !(wi > 0)) continue;
    r[n] = x;
    w[n] = wi;
    total += wi;
    n++;
  }
  if (n === 0) return undefined;
  // Find the smallest rate whose cumulative weight reaches q·total; with q
  // as a whole percentage the test is exact in integers.
  const percent = Math.round(q * 100);
  const exact = Math.abs(q * 100 - percent) < 1e-9 && total * 100 < Number.MAX_SAFE_INTEGER;
  const reaches = exact ? (acc: number) => acc * 100 >= percent * total : (acc: number) => acc >= q * total;
  let lo = 0;
  let hi = n; // exclusive
  let below = 0; // weight of everything left of lo (all smaller than what is in [lo, hi))
  let seed = 1;
  for (;;) {
    if (hi - lo <= 1) return r[Math.min(lo, n - 1)] as number;
    // A pseudo-random pivot keeps adversarial orders linear on average.
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    const pivot = r[lo + (seed % (hi - lo))] as number;
    // Three-way partition of [lo, hi): < pivot, == pivot, > pivot.
    let lt = lo;
    let gt = hi - 1;
    let i = lo;
    while (i <= gt) {
      const x = r[i] as number;
      if (x < pivot) {
        swap(r, w, i++, lt++);
      } else if (x > pivot) {
        swap(r, w, i, gt--);
      } else i++;
    }
    let wLess = 0;
    for (let k = lo; k < lt; k++) wLess += w[k] as number;
    let wEqual = 0;
    for (let k = lt; k <= gt; k++) wEqual += w[k] as number;
    if (lt > lo && reaches(below + wLess)) {
      hi = lt;
    } else if (reaches(below + wLess + wEqual)) {
      return pivot;
    } else {
      below += wLess + wEqual;
      lo = gt + 1;
    }
  }
}

function swap(r: Float64Array, w: Float64Array, a: number, b: number): void {
  const x = r[a] as number;
  r[a] = r[b] as number;
  r[b] = x;
  const y = w[a] as number;
  w[a] = w[b] as number;
  w[b] = y;
}
