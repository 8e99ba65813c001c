/**
 * Sizes in IEC units and rates with SI prefixes, for people.
 *
 * @module
 */

import { fixedScaled } from "../units.ts";

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
  if (bytes < 1024n && bytes > -1024n) return `${bytes} B`;
  const abs = bytes < 0n ? -bytes : bytes;
  let shift = 10;
  let unit = 0;
  while (unit < IEC.length - 1 && abs >= 1n << BigInt(shift + 10)) {
    shift += 10;
    unit++;
  }
  // 1023.996 KiB rounds to 1024.00 KiB: say 1.00 MiB instead.
  let text = fixedScaled(abs, shift);
  if (text === "1024.00" && unit < IEC.length - 1) {
    shift += 10;
    unit++;
    text = fixedScaled(abs, shift);
  }
  return `${bytes < 0n ? "-" : ""}${text} ${IEC[unit]}`;
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
