/**
 * Human-readable byte counts in the original's style: plain bytes under 1024,
 * then `%.2f` with K, M, G, T or P (1024-based).
 *
 * @module
 */

const UNITS = ["K", "M", "G", "T", "P"] as const;

/**
 * Rounds `numerator / 2^shift` to two decimals, ties to even, as Python's
 * `"%.2f"` does on the exact binary value the original computed.
 */
function fixed2(numerator: bigint, shift: bigint): string {
  const scaled = numerator * 100n;
  const divisor = 1n << shift;
  let q = scaled / divisor;
  const r = scaled % divisor;
  const twice = r * 2n;
  if (twice > divisor || (twice === divisor && q % 2n === 1n)) q += 1n;
  const whole = q / 100n;
  const cents = String(q % 100n).padStart(2, "0");
  return `${whole}.${cents}`;
}

/**
 * Formats a byte count as the original `human_readable` did, without its
 * bugs: exactly 1024 G prints `1.00T` (the original printed `None`), and
 * counts beyond go on to T and P.
 *
 * The original divided a Python float, so counts above 2^53 are first rounded
 * to the nearest double; that keeps its output byte-for-byte.
 *
 * @example
 * ```ts
 * humanReadable(1023n); // "1023"
 * humanReadable(1536n); // "1.50K"
 * ```
 */
export function humanReadable(bytes: bigint): string {
  if (bytes < 1024n) return String(bytes);
  // Python's float(long) rounds to nearest even, as Number(bigint) does.
  const asDouble = BigInt(Number(bytes));
  let shift = 0n;
  for (const unit of UNITS) {
    shift += 10n;
    if (asDouble < 1024n << shift || unit === "P") return fixed2(asDouble, shift) + unit;
  }
  throw new Error("unreachable");
}
