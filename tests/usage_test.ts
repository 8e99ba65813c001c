import { deepEqual as assertEquals } from "node:assert/strict";
import type { LastState, Sample } from "../lib/state/log_format.ts";
import { computeUsage } from "../lib/usage/deltas.ts";
import { formatReport } from "../lib/outputs/report_text.ts";
import { named } from "./helpers.ts";

const sample = (timestamp: string, values: [string, bigint][]): Sample => ({ timestamp, counters: new Map(values) });
const last = (s: Sample, totalStart: string): LastState => ({ sample: s, totalStart });
const MAX = (1n << 64n) - 1n;

Deno.test("first run: usage is the counters, totals start now", () => {
  const r = computeUsage(undefined, sample("2010/02/25-10:00:00", [["proxy", 10n], ["non-network", 20n]]));
  assertEquals(r.meters.map((m) => m.usage), [10n, 20n]);
  assertEquals(r.resets, []);
  assertEquals(r.totalStart, "2010/02/25-10:00:00");
});

Deno.test("usage is the difference, exact above 2^53 and near 2^64", () => {
  const before = last(sample("t1", [["a", MAX - 1000n], ["b", 2n ** 53n + 1n]]), "t0");
  const r = computeUsage(before, sample("2010/02/25-10:05:00", [["a", MAX], ["b", 2n ** 53n + 3n]]));
  assertEquals(r.meters.map((m) => m.usage), [1000n, 2n]);
  assertEquals(r.totalStart, "t0");
});

Deno.test("a counter that went down is a reset for that meter alone", () => {
  const before = last(sample("t1", [["proxy", 5000n], ["non-network", 100n]]), "t0");
  const r = computeUsage(before, sample("2010/02/25-10:05:00", [["proxy", 300n], ["non-network", 150n]]));
  assertEquals(r.resets, ["proxy"]);
  assertEquals(r.meters.map((m) => [m.meter, m.usage, m.reset]), [["proxy", 300n, true], ["non-network", 50n, false]]);
  assertEquals(r.totalStart, "2010/02/25-10:05:00");
});

Deno.test("the original looked at the proxy counter only: a reset of the other meter is still seen", () => {
  const before = last(sample("t1", [["proxy", 0n], ["non-network", MAX]]), "t0");
  const r = computeUsage(before, sample("t2", [["proxy", 0n], ["non-network", 7n]]));
  assertEquals(r.resets, ["non-network"]);
  assertEquals(r.meters[1]?.usage, 7n);
});

Deno.test("a meter new to the config starts at its first value, as every reader of the log starts it", () => {
  const before = last(sample("t1", [["a", 5n]]), "t0");
  const r = computeUsage(before, sample("t2", [["a", 6n], ["b", 40n]]));
  assertEquals(r.meters.map((m) => [m.usage, m.before]), [[1n, 5n], [0n, 40n]]);
  assertEquals(r.resets, []);
  assertEquals(r.totalStart, "t0");
});

Deno.test("a meter new to the config whose counter start made within the interval counts its value", () => {
  const before = last(sample("t1", [["a", 5n]]), "t0");
  const r = computeUsage(before, sample("t2", [["a", 6n], ["b", 40n]]), new Map([["b", "rules re-created"]]));
  assertEquals(r.meters.map((m) => [m.usage, m.before]), [[1n, 5n], [40n, 0n]]);
  assertEquals(r.resets, ["b"]);
});

Deno.test("usage is never negative, whatever the counters do", () => {
  const values = [0n, 1n, 2n ** 32n, 2n ** 53n, 2n ** 63n, MAX - 1n, MAX];
  for (const a of values) {
    for (const b of values) {
      const r = computeUsage(last(sample("t1", [["m", a]]), "t0"), sample("t2", [["m", b]]));
      const u = r.meters[0]?.usage ?? -1n;
      if (u < 0n || u > b) throw new Error(`${a} -> ${b} gave usage ${u}`);
    }
  }
});

Deno.test("a meter put back (the previous sample lacks it, the log had it) counts from its last value in the log", () => {
  const before = last(sample("t1", [["a", 5n]]), "t0");
  const now = sample("t2", [["a", 6n], ["b", 40n]]);
  const r = computeUsage(before, now, undefined, new Map([["b", 25n]]));
  assertEquals(r.meters.map((m) => [m.meter, m.usage, m.before, m.reset]), [["a", 1n, 5n, false], [
    "b",
    15n,
    25n,
    false,
  ]]);
  assertEquals([r.resets, r.totalStart, r.lastLogged], [[], "t0", new Map([["b", 25n]])]);
  // Below its last value: a reset, its new value counted.
  const down = computeUsage(before, now, undefined, new Map([["b", 50n]]));
  assertEquals([down.meters[1]?.usage, down.meters[1]?.reason, down.resets], [40n, "counter went down", ["b"]]);
  // A reset line (start made its counter again): its value whatever the last one was.
  const started = computeUsage(before, now, new Map([["b", "rules re-created"]]), new Map([["b", 25n]]));
  assertEquals([started.meters[1]?.usage, started.resets], [40n, ["b"]]);
  // No lookup made (the usual report), or nothing found: no lastLogged.
  assertEquals("lastLogged" in computeUsage(before, now), false);
  assertEquals("lastLogged" in computeUsage(before, now, undefined, new Map()), false);
});

Deno.test("the report's Last Total of a meter put back is its last value in the log, of one new to the log '-'", () => {
  const meters = named(["a", "b", "c"]);
  const before = last(sample("2024/03/01-10:00:00", [["a", 5n]]), "2024/03/01-09:00:00");
  const now = sample("2024/03/01-10:05:00", [["a", 6n], ["b", 40n], ["c", 7n]]);
  const lastLogged = new Map([["b", 25n]]);
  const text = formatReport(meters, before, now, computeUsage(before, now, undefined, lastLogged));
  assertEquals(text.split("\n").slice(0, 3), [
    "Last Total - Timestamp: 2024/03/01-10:00:00 a: 5 b: 25 c: -",
    "New Total - Timestamp: 2024/03/01-10:05:00 a: 6 b: 40 c: 7",
    "New Usage - Timestamp: 2024/03/01-10:05:00 a: 1 b: 15 c: 0",
  ]);
});
