/**
 * Text to UTF-8 bytes for writing big files. `TextEncoder.encode` costs about
 * 4 ms a megabyte in Deno 2.9 (a 10,000-column Prometheus textfile is one
 * megabyte, written every report), `encodeInto` a hundredth of that: so the
 * text is encoded into a buffer of its length, which holds it whole when it
 * is ASCII (netmon's files are, but for names), and only other text goes
 * through `encode`.
 *
 * @module
 */

const encoder = new TextEncoder();

/**
 * `text` as UTF-8.
 *
 * @example
 * ```ts
 * utf8("netmon_raw_bytes 1\n"); // Uint8Array of 19 bytes
 * ```
 */
export function utf8(text: string): Uint8Array {
  const bytes = new Uint8Array(text.length);
  const { read, written } = encoder.encodeInto(text, bytes);
  return read === text.length ? bytes.subarray(0, written) : encoder.encode(text);
}
