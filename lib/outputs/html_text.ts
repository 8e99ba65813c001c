/**
 * Text for HTML and SVG: escaping, and the figures as people read them
 * (bytes in IEC units, rates in SI bit/s, percentages).
 *
 * @module
 */

import { iecBytes, percentText, siRate } from "../usage/units.ts";
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

/** Bytes in IEC units with two decimals, as the summary prints them (one home: lib/usage/units.ts). */
export function formatBytes(bytes: bigint | number): string {
  return iecBytes(typeof bytes === "bigint" ? bytes : BigInt(Math.round(bytes)));
}

/** A rate in bit/s with an SI prefix and two decimals, as the summary prints it. */
export function formatRate(bps: number): string {
  return siRate(bps);
}

/** A fraction (0.5) as a percentage ("50.0%"), as everything else shows one (lib/usage/units.ts percentText). */
export function formatPercent(fraction: number): string {
  return percentText(fraction);
}
