/**
 * Streams a text file line by line in constant memory.
 *
 * @module
 */

/**
 * Yields the lines of the file at `path` without their LF. A final line with
 * no LF is yielded too.
 *
 * @example
 * ```ts
 * for await (const line of readLines("netmon.log")) console.log(line);
 * ```
 */
export async function* readLines(path: string): AsyncGenerator<string> {
  const file = await Deno.open(path, { read: true });
  const decoder = new TextDecoder();
  let rest = "";
  try {
    for await (const chunk of file.readable) {
      const text = rest + decoder.decode(chunk, { stream: true });
      let start = 0;
      for (let nl = text.indexOf("\n"); nl >= 0; nl = text.indexOf("\n", start)) {
        yield text.slice(start, nl);
        start = nl + 1;
      }
      rest = text.slice(start);
    }
    rest += decoder.decode();
    if (rest !== "") yield rest;
  } finally {
    try {
      file.close();
    } catch { /* already closed by the stream */ }
  }
}

/**
 * Calls `fn` with each line of the open file `file` (without its LF) and its
 * 1-based number, reading 64 KiB at a time: constant memory, and no promise per
 * line, for logs of millions of lines. A final line with no LF is passed too.
 */
export function forEachLineSync(file: Deno.FsFile, fn: (line: string, lineNo: number) => void): void {
  // 64 KiB: the decoded text stays a young-generation string, freed by the
  // cheap collections; megabyte chunks go to large-object space and pile up
  // until a full collection, so peak memory would grow with the log.
  const buffer = new Uint8Array(1 << 16);
  const decoder = new TextDecoder();
  let rest = "";
  let lineNo = 0;
  for (let n = file.readSync(buffer); n !== null; n = file.readSync(buffer)) {
    const text = rest + decoder.decode(buffer.subarray(0, n), { stream: true });
    let start = 0;
    for (let nl = text.indexOf("\n"); nl >= 0; nl = text.indexOf("\n", start)) {
      fn(text.slice(start, nl), ++lineNo);
      start = nl + 1;
    }
    rest = text.slice(start);
  }
  rest += decoder.decode();
  if (rest !== "") fn(rest, ++lineNo);
}
