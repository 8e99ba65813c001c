/**
 * Streams a text file line by line in constant memory and linear time,
 * refusing a line longer than netmon could ever have written.
 *
 * @module
 */

import { DataError } from "./errors.ts";

/**
 * The longest line read, in characters (4 Mi): six times the longest line
 * netmon writes with 10,000 meters of 64-character names (a 650 KB meters
 * header). A longer line is not netmon's, and reading on would cost memory
 * and time for nothing.
 */
export const MAX_LINE = 1 << 22;

/** Something lines are read from: a Deno.FsFile or a SafeFile. */
export interface LineSource {
  readSync(p: Uint8Array): number | null;
}

/** What to do with a final line that has no LF. */
export interface LineOptions {
  /**
   * Called instead of the line callback for a final line with no LF (a line
   * still being written, or torn by a crash): the caller skips it. Without
   * it the line is passed on like the others.
   */
  onTorn?: (line: string, lineNo: number) => void;
}

/**
 * Calls `fn` with each line of the open file `file` (without its LF) and its
 * 1-based number, reading 64 KiB at a time: constant memory, no promise per
 * line, and each byte looked at a bounded number of times however long a
 * line is. A line longer than {@linkcode MAX_LINE} is a DataError naming
 * `where:LINE`.
 */
export function forEachLineSync(
  file: LineSource,
  where: string,
  fn: (line: string, lineNo: number) => void,
  opts: LineOptions = {},
): void {
  // 64 KiB: the decoded text stays a young-generation string, freed by the
  // cheap collections; megabyte chunks go to large-object space and pile up
  // until a full collection, so peak memory would grow with the log.
  const buffer = new Uint8Array(1 << 16);
  const decoder = new TextDecoder();
  // The start of a line longer than a chunk, in pieces: joined once, when its LF comes.
  let parts: string[] = [];
  let partLength = 0;
  let lineNo = 0;
  const tooLong = () =>
    new DataError(
      `${where}:${
        lineNo + 1
      }: line longer than ${MAX_LINE} characters: not a line netmon wrote (is this netmon's file?)`,
    );
  for (let n = file.readSync(buffer); n !== null; n = file.readSync(buffer)) {
    const text = decoder.decode(buffer.subarray(0, n), { stream: true });
    let nl = text.indexOf("\n");
    if (nl < 0) {
      parts.push(text);
      partLength += text.length;
      if (partLength > MAX_LINE) throw tooLong();
      continue;
    }
    let first = text.slice(0, nl);
    if (parts.length > 0) {
      if (partLength + nl > MAX_LINE) throw tooLong();
      first = parts.join("") + first;
      parts = [];
      partLength = 0;
    }
    fn(first, ++lineNo);
    let start = nl + 1;
    for (nl = text.indexOf("\n", start); nl >= 0; nl = text.indexOf("\n", start)) {
      fn(text.slice(start, nl), ++lineNo);
      start = nl + 1;
    }
    if (start < text.length) {
      parts.push(text.slice(start));
      partLength = text.length - start;
    }
  }
  const tail = decoder.decode();
  if (tail !== "") parts.push(tail);
  const rest = parts.join("");
  if (rest === "") return;
  if (rest.length > MAX_LINE) throw tooLong();
  if (opts.onTorn) opts.onTorn(rest, ++lineNo);
  else fn(rest, ++lineNo);
}
