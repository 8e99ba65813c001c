/**
 * Text for HTML and SVG: escaping, and the figures as people read them
 * (bytes in IEC units, rates in SI bit/s, percentages).
 *
 * @module
 */

const ESCAPES: Readonly<Record<string, string>> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/**
 * `text` safe as HTML or SVG text and as a quoted attribute value: markup
 * characters become entities, control characters (which XML forbids) become
 * U+FFFD.
 *
 * @example
 * ```ts
 * escapeHtml("<img src=x onerror=alert(1)>"); // "&lt;img src=x onerror=alert(1)&gt;"
 * ```
 */
export function escapeHtml(text: string): string {
  // deno-lint-ignore no-control-regex
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c] as string).replace(/[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/g, "\ufffd");
}

const IEC = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];

/**
 * Bytes in IEC units with two decimals (bytes below 1 KiB as a whole number).
 *
 * @example
 * ```ts
 * formatBytes(1536n); // "1.50 KiB"
 * ```
 */
export function formatBytes(bytes: bigint | number): string {
  const n = Number(bytes);
  if (Math.abs(n) < 1024) return `${Math.round(n)} B`;
  let i = 0;
  let v = n;
  while (Math.abs(v) >= 1024 && i < IEC.length - 1) {
    v /= 1024;
    i++;
  }
  // 1023.996 KiB rounds to 1024.00 KiB: show it as 1.00 MiB.
  if (Math.abs(v) >= 1023.995 && i < IEC.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(2)} ${IEC[i]}`;
}

const SI = ["bit/s", "kbit/s", "Mbit/s", "Gbit/s", "Tbit/s"];

/**
 * A rate in bit/s with an SI prefix and two decimals.
 *
 * @example
 * ```ts
 * formatRate(12_345_678); // "12.35 Mbit/s"
 * ```
 */
export function formatRate(bps: number): string {
  let i = 0;
  let v = bps;
  while (Math.abs(v) >= 999.995 && i < SI.length - 1) {
    v /= 1000;
    i++;
  }
  return `${v.toFixed(i === 0 ? 0 : 2)} ${SI[i]}`;
}

/**
 * A fraction (0.5) as a percentage ("50.0%"); one decimal, never rounded up
 * to 100% when below it.
 */
export function formatPercent(fraction: number): string {
  const p = Math.floor(fraction * 1000) / 10;
  return `${p.toFixed(1)}%`;
}
