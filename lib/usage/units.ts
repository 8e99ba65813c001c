/**
 * Byte counts and rates for people: the original's style (plain bytes under
 * 1024, then `%.2f` with K, M, G, T or P, 1024-based) for the report, IEC
 * units (`1.50 KiB`) and SI bit rates (`1.25 Mbit/s`) for the summary and
 * everything after it.
 *
 * @module
 */

const UNITS = ["K", "M", "G", "T", "P"] as const;
const SMALL = 1n << 46n;

/**
 * Rounds `numerator / 2^shift` to two decimals, ties to even, as Python's
 * `"%.2f"` does on the exact binary value the original computed.
 */
function fixed2(numerator: bigint, shift: bigint): string {
  return rounded2(numerator, 1n << shift);
}

/** `numerator / divisor` to two decimals, ties to even. */
function rounded2(numerator: bigint, divisor: bigint): string {
  const scaled = numerator * 100n;
  let q = scaled / divisor;
  const r = scaled % divisor;
  const twice = r * 2n;
  if (twice > divisor || (twice === divisor && q % 2n === 1n)) q += 1n;
  const whole = q / 100n;
  const cents = String(q % 100n).padStart(2, "0");
  return `${whole}.${cents}`;
}

/** `n / 2^shift` to two decimals, ties to even, in exact double arithmetic (n below 2^46). */
function fixed2Number(n: number, shift: number): string {
  const scaled = n * 100; // exact: below 2^53
  const divisor = 2 ** shift;
  let q = Math.floor(scaled / divisor);
  const twice = (scaled - q * divisor) * 2;
  if (twice > divisor || (twice === divisor && q % 2 === 1)) q += 1;
  const cents = q % 100;
  return `${(q - cents) / 100}.${cents < 10 ? "0" : ""}${cents}`;
}

/** {@linkcode humanReadable} for counts below 2^46, in exact double arithmetic. */
function fixed2Small(n: number): string {
  let shift = 10;
  let unit = 0;
  while (n >= 1024 * 2 ** shift) {
    shift += 10;
    unit++;
  }
  return fixed2Number(n, shift) + UNITS[unit];
}

/**
 * `bytes / 2^shift` with two decimals, rounded exactly (ties to even, as
 * Python's `"%.2f"` rounds an exact binary value); shift 0 gives the whole
 * number. Used for the graph's fixed units.
 *
 * @example
 * ```ts
 * fixedScaled(1572864n, 20); // "1.50"
 * ```
 */
export function fixedScaled(bytes: bigint | number, shift: number): string {
  if (typeof bytes === "number") {
    if (bytes < 2 ** 46 && Number.isInteger(bytes) && bytes >= 0) {
      return shift === 0 ? String(bytes) : fixed2Number(bytes, shift);
    }
    bytes = BigInt(bytes);
  }
  if (shift === 0) return String(bytes);
  if (bytes >= 0n && bytes < SMALL) return fixed2Number(Number(bytes), shift);
  return fixed2(bytes, BigInt(shift));
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
  // Exact in plain numbers while bytes * 100 stays below 2^53: no BigInt churn
  // for the 30,000 figures a report with 10,000 meters prints.
  if (bytes < SMALL) return fixed2Small(Number(bytes));
  return humanReadableExact(bytes);
}

/**
 * {@linkcode humanReadable} computed entirely in BigInt: the reference the
 * fast path is tested against, and the path for counts of 2^46 and above.
 */
export function humanReadableExact(bytes: bigint): string {
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

const IEC = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"] as const;

/**
 * Bytes in IEC units with two decimals (exactly rounded, ties to even):
 * `512 B`, `1.50 KiB`, … `TiB`, and on to EiB for counters near 2^64.
 *
 * @example
 * ```ts
 * iecBytes(1536n); // "1.50 KiB"
 * ```
 */
export function iecBytes(bytes: bigint): string {
  return scaledBytes(bytes, 1024n, IEC);
}

/**
 * `bytes` in `units` (of `base`, its powers from the first on) with two decimals, exactly rounded (ties to even);
 * plain bytes below one `base`.
 */
function scaledBytes(bytes: bigint, base: bigint, units: readonly string[]): string {
  if (bytes < base && bytes > -base) return `${bytes} B`;
  const abs = bytes < 0n ? -bytes : bytes;
  let divisor = base;
  let unit = 0;
  while (unit < units.length - 1 && abs >= divisor * base) {
    divisor *= base;
    unit++;
  }
  // 1023.996 KiB rounds to 1024.00 KiB (999.996 kB to 1000.00 kB): say 1.00 MiB (MB) instead.
  let text = rounded2(abs, divisor);
  if (text === `${base}.00` && unit < units.length - 1) {
    divisor *= base;
    unit++;
    text = rounded2(abs, divisor);
  }
  return `${bytes < 0n ? "-" : ""}${text} ${units[unit]}`;
}

const SI_BYTES = ["kB", "MB", "GB", "TB", "PB", "EB"] as const;

/**
 * Bytes in SI units (powers of 1000) with two decimals, exactly rounded
 * (ties to even): `999 B`, `2.00 MB`, `500.00 GB`. The units a quota written
 * in them (`"500 GB"`) is shown in: {@linkcode quotaBytes}.
 *
 * @example
 * ```ts
 * siBytes(2_000_000n); // "2.00 MB"
 * ```
 */
export function siBytes(bytes: bigint): string {
  return scaledBytes(bytes, 1000n, SI_BYTES);
}

/**
 * Bytes beside a quota, in the family its quota was written in: SI for one
 * written in kB, MB, GB, TB or PB (`decimal`), IEC otherwise. A "500 GB"
 * contract reads `500.00 GB`, not `465.66 GiB`.
 *
 * @example
 * ```ts
 * quotaBytes(2_000_000n, true); // "2.00 MB"
 * quotaBytes(2_000_000n, false); // "1.91 MiB"
 * ```
 */
export function quotaBytes(bytes: bigint, decimal: boolean | undefined): string {
  return decimal === true ? siBytes(bytes) : iecBytes(bytes);
}

/**
 * A commit beside a 95th percentile, with the share of it the percentile is
 * (when there is one): `commit 100.00 Mbit/s (1.5%)`.
 *
 * @example
 * ```ts
 * commitText(100e6, 1.5e6); // "commit 100.00 Mbit/s (1.5%)"
 * ```
 */
export function commitText(bps: number, p95: number | undefined): string {
  return `commit ${siRate(bps)}${p95 === undefined ? "" : ` (${percentText(p95 / bps)})`}`;
}

const SI = ["kbit/s", "Mbit/s", "Gbit/s", "Tbit/s", "Pbit/s"] as const;

/**
 * A rate in bit/s with SI prefixes and two decimals: `950.00 bit/s`,
 * `1.25 Mbit/s`.
 *
 * @example
 * ```ts
 * siRate(1_250_000); // "1.25 Mbit/s"
 * ```
 */
export function siRate(bps: number): string {
  let x = bps;
  let unit = -1;
  while (unit < SI.length - 1 && Math.abs(x) >= 999.995) {
    x /= 1000;
    unit++;
  }
  return `${x.toFixed(2)} ${unit < 0 ? "bit/s" : SI[unit]}`;
}

/**
 * A share (0.596) as a percentage with one decimal, `59.6%`: rounded to the
 * nearest tenth, except that a share below the whole never shows as
 * `100.0%` (99.96% of a quota is `99.9%`: not used up before it is). The
 * one form of a quota's use or a coverage, on the page, in `check`, the
 * alerts, digests and the summary.
 *
 * @example
 * ```ts
 * percentText(0.5959); // "59.6%"
 * percentText(0.9996); // "99.9%"
 * ```
 */
export function percentText(share: number, below = share < 1): string {
  const tenths = Math.round(share * 1000);
  return `${((below ? Math.min(tenths, 999) : tenths) / 10).toFixed(1)}%`;
}

/**
 * `part` of `whole` bytes as {@linkcode percentText} says it, whether it is
 * below the whole decided exactly (a quota of 10^18 bytes less one byte is
 * `99.9%`, which the ratio as a float, 1, is not).
 */
export function bytesShareText(part: bigint, whole: bigint): string {
  return percentText(Number(part) / Number(whole), part < whole);
}
