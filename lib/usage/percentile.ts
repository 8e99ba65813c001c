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
 * Found by a weighted quickselect whose pivots are taken from small samples
 * at the rank sought (the idea of Floyd and Rivest's SELECT): the first, a
 * little below the answer, splits off the few percent of the rates above it
 * in the pass that weighs them all, so the whole costs little more than one
 * pass over the rates. No sort, and no allocation once the scratch arrays
 * are as long as the longest bucket.
 *
 * @module
 */

/** The rate in bit/s of `bytes` over `ms` milliseconds. */
export function rateOf(bytes: number, ms: number): number {
  return (bytes * 8000) / ms;
}

/** How many rates a pivot is chosen from. */
const SAMPLE = 63;

// Scratch, reused from call to call: the rates left to rank and their weights, and the pivot's sample.
let scratchRates = new Float64Array(0);
let scratchWeights = new Float64Array(0);
const sample = new Float64Array(SAMPLE);
/** The pseudo-random places of the samples: the same sequence in every call. */
let seed = 1;

/** A pseudo-random place below `n`. */
function draw(n: number): number {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed % n;
}

/** Puts `x` among the first `k` rates of the sample, in order. */
function insert(x: number, k: number): void {
  let at = k;
  for (; at > 0 && (sample[at - 1] as number) > x; at--) sample[at] = sample[at - 1] as number;
  sample[at] = x;
}

/**
 * The rate of the sample's first `size` (in order) at `fraction` of them,
 * moved two standard deviations of the sample's rank to the far side of
 * the answer: the answer lies on the near side, the smaller, nearly always.
 */
function pivotAt(size: number, fraction: number): number {
  const margin = 2 * Math.sqrt(size * fraction * (1 - fraction)) + 1;
  const rank = Math.floor(fraction * size + (fraction > 0.5 ? -margin : margin));
  return sample[Math.max(0, Math.min(size - 1, rank))] as number;
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
  if (scratchRates.length < length) {
    scratchRates = new Float64Array(length);
    scratchWeights = new Float64Array(length);
  }
  const r = scratchRates;
  const w = scratchWeights;
  seed = 1;
  // A first pivot a little below the answer, from a sample of the rates;
  // then one pass over them: their total weight, the weight at or below the
  // pivot, and the rates above it picked out. The answer is among those
  // nearly always: a few percent of the rates are left to rank.
  let size = 0;
  for (let k = 0; k < SAMPLE && length > 0; k++) {
    const i = draw(length);
    const x = rates[i] as number;
    if (x === x && (weights[i] as number) > 0) insert(x, size++);
  }
  const first = size > 0 ? pivotAt(size, q) : NaN;
  let n = 0;
  let total = 0;
  let atOrBelow = 0;
  for (let i = 0; i < length; i++) {
    const x = rates[i] as number;
    const wi = weights[i] as number;
    if (x !== x || !(wi > 0)) continue;
    total += wi;
    if (x > first) {
      r[n] = x;
      w[n] = wi;
      n++;
    } else atOrBelow += wi;
  }
  if (total === 0) return undefined;
  // The smallest rate whose cumulative weight reaches q·total: a weight v
  // reaches it when v·scale >= goal. With q a whole percentage the test is
  // exact in integers (v·100 >= percent·total). Two numbers rather than a
  // closure: calls of a closure here cost ~25 KB of garbage per call.
  const percent = Math.round(q * 100);
  const exact = Math.abs(q * 100 - percent) < 1e-9 && total * 100 < Number.MAX_SAFE_INTEGER;
  const scale = exact ? 100 : 1;
  const goal = exact ? percent * total : q * total;
  let below = atOrBelow; // weight of everything left of lo (all smaller than what is in [lo, hi))
  if (Number.isNaN(first) || atOrBelow * scale >= goal) {
    // Not so (rarely, or no sample): every rate is left to rank.
    n = 0;
    for (let i = 0; i < length; i++) {
      const x = rates[i] as number;
      const wi = weights[i] as number;
      if (x !== x || !(wi > 0)) continue;
      r[n] = x;
      w[n] = wi;
      n++;
    }
    below = 0;
  }
  let lo = 0;
  let hi = n; // exclusive
  let inside = total - below; // weight of [lo, hi)
  for (;;) {
    if (hi - lo <= 1) return r[Math.min(lo, n - 1)] as number;
    // The pivot: in a sample of the range (at pseudo-random places, so that
    // no order of the rates defeats it), the rate at the fraction of the
    // range's weight that the answer lies at.
    size = Math.min(SAMPLE, hi - lo);
    for (let k = 0; k < size; k++) insert(r[lo + draw(hi - lo)] as number, k);
    const pivot = pivotAt(size, Math.min(1, Math.max(0, (q * total - below) / inside)));
    // Three-way partition of [lo, hi): < pivot, == pivot, > pivot, weighing the first two.
    let lt = lo;
    let gt = hi - 1;
    let i = lo;
    let wLess = 0;
    let wEqual = 0;
    while (i <= gt) {
      const x = r[i] as number;
      if (x < pivot) {
        wLess += w[i] as number;
        swap(r, w, i++, lt++);
      } else if (x > pivot) {
        swap(r, w, i, gt--);
      } else {
        wEqual += w[i] as number;
        i++;
      }
    }
    if (lt > lo && (below + wLess) * scale >= goal) {
      hi = lt;
      inside = wLess;
    } else if ((below + wLess + wEqual) * scale >= goal) {
      return pivot;
    } else {
      below += wLess + wEqual;
      inside -= wLess + wEqual;
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
