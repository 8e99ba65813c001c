import { deepEqual as assertEquals, throws } from "node:assert/strict";
import {
  formatHeader,
  formatLast,
  formatLogLine,
  parseHeader,
  parseLast,
  parseLogLine,
} from "../lib/state/log_format.ts";

const counters = (pairs: [string, bigint][]) => new Map(pairs);

Deno.test("original two meters: the original's exact line and last file, no header", () => {
  const sample = { timestamp: "2010/02/25-10:00:00", counters: counters([["proxy", 123n], ["non-network", 456n]]) };
  assertEquals(formatLogLine(sample), "2010/02/25-10:00:00\t123\t456\n");
  assertEquals(
    formatLast({ sample, totalStart: "2010/02/01-00:00:00" }),
    "2010/02/25-10:00:00\t123\t456\t2010/02/01-00:00:00\n",
  );
  assertEquals(parseLast("2010/02/25-10:00:00\t123\t456\t2010/02/01-00:00:00\n", "netmon.last"), {
    sample,
    totalStart: "2010/02/01-00:00:00",
  });
});

Deno.test("other meters: a header names the columns and survives a round trip; 2^64-1 is exact", () => {
  const sample = {
    timestamp: "2026/11/21-12:00:00",
    counters: counters([["a", 18446744073709551615n], ["b", 0n], ["c", 1n]]),
  };
  const text = formatLast({ sample, totalStart: "2026/11/01-00:00:00" });
  assertEquals(text.split("\n")[0], "# netmon meters:\ta\tb\tc");
  assertEquals(parseLast(text, "x").sample, sample);
  assertEquals(parseHeader(formatHeader(["x", "y"]).trimEnd()), ["x", "y"]);
  // The original graph script keeps 3-field lines only: a header never has 3.
  for (const meters of [["one"], ["a", "b"], ["a", "b", "c"]]) {
    const fields = formatHeader(meters).trim().split(/\s+/).length;
    if (fields === 3) throw new Error(`header for ${meters} splits into 3 fields`);
  }
});

const BAD_LINES: [string, RegExp][] = [
  ["2010/02/25-10:00:00\t1", /^netmon\.log:7: expected 3 fields \(timestamp and proxy, non-network\) but got 2$/],
  ["2010/02/25-10:00:00\t1\t2\r", /^netmon\.log:7: line ends in CR/],
  ["2010/02/25-10:00:00\t1\t\xff", /^netmon\.log:7: line has bytes that are not printable ASCII$/],
  ["2010/02/25-10:00:00\t-1\t2", /^netmon\.log:7: proxy: counter "-1" is negative$/],
  ["2010/02/25-10:00:00\t1.5\t2", /^netmon\.log:7: proxy: counter "1\.5" is not a whole number$/],
  [
    "2010/02/25-10:00:00\t1\t18446744073709551616",
    /^netmon\.log:7: non-network: counter 18446744073709551616 is larger than 2\^64-1$/,
  ],
  ["2010/13/25-10:00:00\t1\t2", /^netmon\.log:7: "2010\/13\/25-10:00:00" is not a timestamp/],
  ["2010/02/30-10:00:00\t1\t2", /^netmon\.log:7: "2010\/02\/30-10:00:00" is not a timestamp/],
];

for (const [line, message] of BAD_LINES) {
  Deno.test(`bad log line ${JSON.stringify(line.slice(20))} is refused with file:line`, () => {
    throws(() => parseLogLine(line, ["proxy", "non-network"], "netmon.log:7"), (e: unknown) => {
      if (!message.test((e as Error).message)) throw new Error((e as Error).message);
      return (e as { exitCode?: number }).exitCode === 65;
    });
  });
}

Deno.test("bad last files are refused with file:line", () => {
  throws(() => parseLast("", "l"), /l:1: the last file has no data line/);
  throws(() => parseLast("2010/02/25-10:00:00\t1\t2\n", "l"), /l:1: expected 4 fields/);
  throws(() => parseLast("# netmon meters:\ta\n2010/02/25-10:00:00\t1\n", "l"), /l:2: expected 3 fields/);
  throws(() => parseLast("2010/02/25-10:00:00\t1\t2\t2010/02/25-10:00:00\nextra\n", "l"), /l:2: unexpected extra line/);
});
