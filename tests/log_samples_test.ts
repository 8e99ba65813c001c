/**
 * Reading a log file as bytes (lib/usage/log_samples.ts): the samples,
 * warnings and torn line of `samplesOfFile`, the lines of `linesOfFile` and
 * the columns of `logColumns` (and of the reader after reading) equal what the text reader gives for the same
 * lines split apart, across
 * reads (lines cut anywhere by short reads, a line longer than the 1 MiB
 * buffer) and for every kind of line.
 */
import { deepEqual as assertEquals, ok } from "node:assert/strict";
import {
  forEachLine,
  forEachSample,
  linesOfFile,
  logColumns,
  type LogFile,
  LogReader,
  returningOf,
  returnsOf,
  samplesOf,
  samplesOfFile,
} from "../lib/usage/log_samples.ts";
import { ORIGINAL_METERS, parseHeader } from "../lib/state/log_format.ts";
import type { Sample } from "../lib/usage/engine.ts";
import { ianaZone } from "../lib/usage/zone.ts";
import { withTempDir } from "./helpers.ts";
import { seededRandom } from "./random.ts";

const utc = ianaZone("UTC");

/**
 * `file` read in pieces of random length (a read may return less than asked):
 * lines end up cut at every place across the reads.
 */
function choppy(file: Deno.FsFile, rand: () => number): LogFile {
  return {
    readSync: (p) => file.readSync(p.subarray(0, 1 + Math.floor(rand() * rand() * 20_000))),
    seekSync: (offset, whence) => file.seekSync(offset, whence ?? Deno.SeekMode.Start),
  };
}

/** About `bytes` of log text: data lines of every length, and now and then any other kind of line. */
function logText(rand: () => number, bytes: number): string {
  const lines: string[] = [];
  let size = 0;
  let columns = 3;
  let t = Date.UTC(2026, 0, 1);
  let long = false;
  let headers = 0;
  const stamp = () => {
    const d = new Date(t).toISOString();
    return `${d.slice(0, 4)}/${d.slice(5, 7)}/${d.slice(8, 10)}-${d.slice(11, 19)}`;
  };
  const counter = () => {
    const digits = 1 + Math.floor(rand() * (rand() < 0.05 ? 20 : 15)); // now and then beyond the fast path
    return String(Math.floor(rand() * 10 ** Math.min(digits, 15))) + (digits > 15 ? "1".repeat(digits - 15) : "");
  };
  while (size < bytes) {
    t += 300_000;
    const r = rand();
    let line: string;
    if (r < 0.01) {
      columns = 1 + Math.floor(rand() * 40);
      line = `# netmon meters:\t${Array.from({ length: columns }, (_, k) => `h${++headers}-${k}`).join("\t")}`;
    } else if (r < 0.015) line = `# netmon reset:\tm0\t${stamp()}\tcounter went down`;
    else if (r < 0.02) line = "";
    else if (r < 0.025) line = `${stamp()}\t${Array.from({ length: columns + 1 }, counter).join("\t")}`; // a field too many
    else if (r < 0.03) line = `${stamp()}\t${Array.from({ length: columns }, counter).join("\t")}\r`; // CR
    else if (r < 0.035) line = `${stamp()}  ${Array.from({ length: columns }, counter).join(" ")}`; // spaces
    else if (r < 0.04) line = `2026/02/30-00:00:00\t${Array.from({ length: columns }, counter).join("\t")}`;
    else if (!long && size > bytes / 3) {
      line = `# a note ${"x".repeat(1_200_000)}`; // longer than one read
      long = true;
    } else line = `${stamp()}\t${Array.from({ length: columns }, counter).join("\t")}`;
    lines.push(line);
    size += line.length + 1;
  }
  return lines.join("\n");
}

/** The log's columns from its lines (the last may be torn: it counts), as the definition says. */
function columnsOf(lines: string[]): { columns: string[]; header: boolean } {
  const { returning: _, returns: __, ...columns } = headersOf(lines);
  return columns;
}

/** {@linkcode columnsOf}, and the columns a header has back after the header before it left them out. */
function headersOf(
  lines: string[],
): { columns: string[]; header: boolean; returning: Set<string>; returns: Map<string, number> } {
  const seen = new Set<string>();
  const returning = new Set<string>();
  const returns = new Map<string, number>();
  let before = new Set<string>();
  let header = false;
  let data = false;
  for (const line of lines) {
    if (line === "") continue;
    if (line.startsWith("#")) {
      const meters = parseHeader(line) ?? [];
      if (meters.length === 0) continue;
      header = true;
      for (const m of meters) {
        if (seen.has(m) && !before.has(m)) {
          returning.add(m);
          returns.set(m, (returns.get(m) ?? 0) + 1);
        }
      }
      for (const m of meters) seen.add(m);
      before = new Set(meters);
    } else if (!header && !data) {
      data = true;
      for (const m of ORIGINAL_METERS) seen.add(m);
      before = new Set(ORIGINAL_METERS);
    }
  }
  return { columns: seen.size > 0 ? [...seen] : [...ORIGINAL_METERS], header, returning, returns };
}

Deno.test("samplesOfFile, linesOfFile and logColumns read a file as the text reader reads its lines split apart, across reads", async () => {
  const rand = seededRandom("log bytes");
  await withTempDir(async (dir) => {
    for (let round = 0; round < 3; round++) {
      // A netmon log starts with a header, the original's with data. The last
      // line has no LF in the odd rounds: a sample (or header) still being written.
      const first = round === 1 ? "" : "# netmon meters:\tm0\tm1\tm2\n";
      const last = round === 1 ? "\n# netmon meters:\tlast\tm0" : "";
      const body = first + logText(rand, 3_500_000) + last;
      const text = round % 2 === 0 ? `${body}\n` : body;
      const path = `${dir}/netmon.log`;
      await Deno.writeTextFile(path, text);
      const lines = text.split("\n");
      const whole = lines.slice(0, -1); // the last piece is "" (after the last LF) or torn
      const numbered = whole.map((l, i) => [l, i + 1] as [string, number]);

      const wantBad: string[] = [];
      const seen = (s: Sample) => JSON.stringify({ ...s, counters: Array.from(s.counters, String) });
      const want = Array.from(samplesOf(numbered, path, (where, why) => wantBad.push(`${where}: ${why}`), utc), seen);
      ok(want.length > 1000 && wantBad.length > 100, `${want.length} samples, ${wantBad.length} bad lines`);

      for (const [reuse, short] of [[false, false], [true, false], [false, true]] as const) {
        const gotBad: string[] = [];
        const torn: string[] = [];
        const file = Deno.openSync(path);
        try {
          const bad = (where: string, why: string) => gotBad.push(`${where}: ${why}`);
          const reader = new LogReader(path, bad, utc, { reuse });
          // Each sample as it comes: with reuse, its counters are valid until the next.
          const from = short ? choppy(file, rand) : file;
          const got = Array.from(samplesOfFile(from, path, bad, reader, (where) => torn.push(where)), seen);
          assertEquals(got, want, `round ${round}, reuse ${reuse}, short reads ${short}`);
          assertEquals(gotBad, wantBad, `round ${round}`);
          assertEquals(torn, round % 2 === 0 ? [] : [`${path}:${lines.length}`]);
          // What the reading met is what logColumns finds (the torn last line too).
          assertEquals(reader.columnsRead, columnsOf(lines), `round ${round}`);
          // forEachSample (graph's loop, a callback per sample) gives the same.
          file.seekSync(0, Deno.SeekMode.Start);
          const cbBad: string[] = [];
          const cbTorn: string[] = [];
          const cbGot: string[] = [];
          const cbReader = new LogReader(path, (where, why) => cbBad.push(`${where}: ${why}`), utc, { reuse });
          forEachSample(
            short ? choppy(file, rand) : file,
            path,
            cbReader,
            (where) => cbTorn.push(where),
            (s) => cbGot.push(seen(s)),
          );
          assertEquals(cbGot, want, `forEachSample: round ${round}, reuse ${reuse}, short reads ${short}`);
          assertEquals(cbBad, wantBad, `forEachSample: round ${round}`);
          assertEquals(cbTorn, torn);
          assertEquals(cbReader.columnsRead, columnsOf(lines), `forEachSample: round ${round}`);
        } finally {
          file.close();
        }
      }
      // LogReader.take over whole lines in one buffer reads each as the text reader does.
      {
        const takeBad: string[] = [];
        const took: string[] = [];
        const reader = new LogReader(path, (where, why) => takeBad.push(`${where}: ${why}`), utc);
        const buf = new TextEncoder().encode(whole.map((l) => `${l}\n`).join(""));
        let lineNo = 0;
        for (let start = 0; start < buf.length;) {
          start = reader.take(buf, start, ++lineNo, (s) => took.push(seen(s))) + 1;
        }
        assertEquals(lineNo, whole.length);
        assertEquals(took, want, `take: round ${round}`);
        assertEquals(takeBad, wantBad, `take: round ${round}`);
      }
      for (const short of [false, true]) {
        const file = Deno.openSync(path);
        try {
          assertEquals([...linesOfFile(short ? choppy(file, rand) : file, path)], numbered);
          file.seekSync(0, Deno.SeekMode.Start);
          const spans: [string, number][] = [];
          forEachLine(short ? choppy(file, rand) : file, path, (l) => {
            if (!l.torn) spans.push([new TextDecoder().decode(l.buf.subarray(l.start, l.end)), l.lineNo]);
          });
          assertEquals(spans, numbered);
          file.seekSync(0, Deno.SeekMode.Start);
          assertEquals(logColumns(short ? choppy(file, rand) : file, path), headersOf(lines), `round ${round}`);
        } finally {
          file.close();
        }
      }
    }
  });
});

Deno.test("logColumns names the columns a header has back after the header before left them out", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/netmon.log`;
    const headers = [["a", "r", "s"], ["a", "s"], ["a", "r"], ["a", "r", "t"], ["a", "t"], ["a", "r", "t"], ["t"]];
    const lines = headers.flatMap((
      h,
      k,
    ) => [
      `# netmon meters:\t${h.join("\t")}`,
      `2026/11/01-0${k}:00:00\t${
        h.map(() => k)
          .join("\t")
      }`,
    ]);
    await Deno.writeTextFile(path, lines.map((l) => `${l}\n`).join(""));
    const file = Deno.openSync(path);
    try {
      // r is back in the third header and again in the sixth; s leaves for good; t and a leave at the end.
      assertEquals(logColumns(file, path), {
        columns: ["a", "r", "s", "t"],
        header: true,
        returning: new Set(["r"]),
        returns: new Map([["r", 2]]),
      });
      // The samples in memory say the same by the same rule.
      file.seekSync(0, Deno.SeekMode.Start);
      assertEquals(returningOf(samplesOf(linesOfFile(file, path), path, () => {})), new Set(["r"]));
      file.seekSync(0, Deno.SeekMode.Start);
      assertEquals(returnsOf(samplesOf(linesOfFile(file, path), path, () => {})), new Map([["r", 2]]));
    } finally {
      file.close();
    }
  });
});

Deno.test("returningOf: a column in a sample, absent from a later one and present again after, by content", () => {
  const at = (columns: string[]) => ({ columns });
  // Each list a new array: a list the same as the one before is no change, whatever its identity.
  assertEquals(
    returningOf([at(["a", "b"]), at(["a", "b"]), at(["a"]), at(["a"]), at(["b", "a"]), at(["c"])]),
    new Set(["b"]),
  );
  // The original log's two columns, then a header that drops one and one that has it back.
  const [proxy, other] = ORIGINAL_METERS as [string, string];
  assertEquals(returningOf([at([proxy, other]), at([proxy]), at([proxy, other, "x"])]), new Set([other]));
  // Added, removed for good, absent at first: none back.
  assertEquals(returningOf([at(["a"]), at(["a", "b"]), at(["b"]), at(["b", "c"])]), new Set());
  assertEquals(returningOf([]), new Set());
});
