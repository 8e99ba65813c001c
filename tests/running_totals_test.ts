/**
 * The reset-corrected running totals (pure) and their state file.
 *
 * @module
 */
// deno-lint-ignore-file no-console

import assert from "node:assert/strict";
import { DataError } from "../lib/host/errors.ts";
import type { Sample } from "../lib/state/log_format.ts";
import { formatTotals, parseTotals } from "../lib/state/totals_v2.ts";
import { nextTotals, RESET_LABELS, resetLabel, totalsOfSamples } from "../lib/usage/running_totals.ts";
import { REASONS } from "../lib/usage/resets.ts";
import { computeUsage } from "../lib/usage/deltas.ts";

const sample = (timestamp: string, counters: [string, bigint][]): Sample => ({
  timestamp,
  counters: new Map(counters),
});

Deno.test("totals: a new column starts at 0; growth adds; a counter that went down adds its new value", () => {
  let t = nextTotals(undefined, sample("2024/03/01-10:00:00", [["a", 500n]]));
  assert.equal(t.columns.get("a")!.total, 0n);
  t = nextTotals(t, sample("2024/03/01-10:05:00", [["a", 800n]]));
  assert.equal(t.columns.get("a")!.total, 300n);
  t = nextTotals(t, sample("2024/03/01-10:10:00", [["a", 40n]]));
  assert.equal(t.columns.get("a")!.total, 340n);
  assert.throws(() => nextTotals(t, sample("2024/03/01-10:15:00", [["a", -1n]])), /counter -1 is negative/);
});

Deno.test("totals: a flagged reset counts the whole counter though it went up", () => {
  let t = nextTotals(undefined, sample("2024/03/01-10:00:00", [["a", 90n]]));
  t = nextTotals(t, sample("2024/03/01-10:05:00", [["a", 100n]]));
  t = nextTotals(t, sample("2024/03/01-10:10:00", [["a", 150n]]), new Map([["a", "reboot"]]));
  assert.equal(t.columns.get("a")!.total, 160n);
  assert.deepEqual(t.columns.get("a")!.resets, new Map([["reboot", 1n]]));
});

Deno.test("totals: reset counts are not changed in the totals they were advanced from", () => {
  const t0 = nextTotals(undefined, sample("2024/03/01-10:00:00", [["a", 90n], ["b", 5n]]));
  const t1 = nextTotals(t0, sample("2024/03/01-10:05:00", [["a", 10n], ["b", 6n]]));
  const t2 = nextTotals(t1, sample("2024/03/01-10:10:00", [["a", 5n], ["b", 7n]]));
  assert.deepEqual(t1.columns.get("a")!.resets, new Map([["counter_went_down", 1n]]));
  assert.deepEqual(t2.columns.get("a")!.resets, new Map([["counter_went_down", 2n]]));
  assert.deepEqual(t0.columns.get("a")!.resets, new Map());
  assert.deepEqual(t2.columns.get("b")!.resets, new Map());
});

Deno.test("totals: a column removed keeps its total; put back, it counts from its last value in the log", () => {
  let s = nextTotals(undefined, sample("2024/03/01-10:00:00", [["a", 1n], ["b", 5n]]));
  s = nextTotals(s, sample("2024/03/01-10:05:00", [["a", 2n], ["b", 9n]]));
  s = nextTotals(s, sample("2024/03/01-10:10:00", [["a", 3n]]));
  assert.deepEqual(s.columns.get("b"), {
    total: 4n,
    counter: undefined,
    resets: new Map(),
  });
  const back = sample("2024/03/01-10:15:00", [["a", 4n], ["b", 15n]]);
  const last = new Map([["b", 9n]]);
  // Its counter kept counting while it was away: 6 bytes since its last value, not its 15 again.
  assert.deepEqual(nextTotals(s, back, undefined, last).columns.get("b"), {
    total: 10n,
    counter: 15n,
    resets: new Map(),
  });
  // Below its last value: a reset, its new value counted.
  const down = nextTotals(s, sample("2024/03/01-10:15:00", [["a", 4n], ["b", 7n]]), undefined, last);
  assert.deepEqual(down.columns.get("b"), { total: 11n, counter: 7n, resets: new Map([["counter_went_down", 1n]]) });
  // A reset line (start made its counter again): its value, counted under the line's reason.
  const started = nextTotals(s, back, new Map([["b", "rules re-created"]]), last);
  assert.deepEqual(started.columns.get("b"), { total: 19n, counter: 15n, resets: new Map([["rules_recreated", 1n]]) });
  // Its last value not known (not in the log): from its value now, as the report counts it, or whole when reset.
  assert.equal(nextTotals(s, back).columns.get("b")!.total, 4n);
  assert.equal(nextTotals(s, back, new Map([["b", "reboot"]])).columns.get("b")!.total, 19n);
  // And it goes on from there.
  const on = nextTotals(nextTotals(s, back, undefined, last), sample("2024/03/01-10:20:00", [["a", 5n], ["b", 20n]]));
  assert.equal(on.columns.get("b")!.total, 15n);
});

Deno.test("totals: over a log whose column leaves and comes back, the total is the report's usage summed", () => {
  // b leaves at 10:10 (last value 9) and comes back at 10:20 with 15 (no reset line), then again at 10:35 below its
  // last value (a reset).
  const samples = [
    sample("2024/03/01-10:00:00", [["a", 1n], ["b", 5n]]),
    sample("2024/03/01-10:05:00", [["a", 2n], ["b", 9n]]),
    sample("2024/03/01-10:10:00", [["a", 3n]]),
    sample("2024/03/01-10:15:00", [["a", 4n]]),
    sample("2024/03/01-10:20:00", [["a", 5n], ["b", 15n]]),
    sample("2024/03/01-10:25:00", [["b", 16n], ["a", 6n]]),
    sample("2024/03/01-10:30:00", [["a", 7n]]),
    sample("2024/03/01-10:35:00", [["a", 8n], ["b", 4n]]),
  ];
  const totals = totalsOfSamples(samples)!;
  // 4, then 6 since its last value 9, 1, then 4 (a reset).
  assert.deepEqual(totals.columns.get("b"), { total: 15n, counter: 4n, resets: new Map([["counter_went_down", 1n]]) });
  assert.equal(totals.columns.get("a")!.total, 7n);
  // The same from a state part way, and step by step as reports advance them, each given b's last value as the
  // record step finds it in the log; the reports' usage adds up to the same.
  assert.deepEqual(totalsOfSamples(samples.slice(2), totalsOfSamples(samples.slice(0, 2))), totals);
  let t = undefined as ReturnType<typeof nextTotals> | undefined;
  let billed = 0n;
  for (const [i, s] of samples.entries()) {
    const lastLogged = new Map([["b", i < 5 ? 9n : 16n]]);
    t = nextTotals(t, s, undefined, lastLogged);
    const previous = samples[i - 1];
    if (previous) {
      const u = computeUsage({ sample: previous, totalStart: "2024/03/01-10:00:00" }, s, undefined, lastLogged);
      billed += u.meters.find((m) => m.meter === "b")?.usage ?? 0n;
    }
  }
  assert.deepEqual(t, totals);
  assert.equal(billed, 15n);
});

Deno.test("totals: exact far above 2^53, a wrap from 2^64-1 to 0 counts as a reset", () => {
  const max = (1n << 64n) - 1n;
  let s = nextTotals(undefined, sample("2024/03/01-10:00:00", [["a", max - 10n]]));
  s = nextTotals(s, sample("2024/03/01-10:05:00", [["a", max]]));
  s = nextTotals(s, sample("2024/03/01-10:10:00", [["a", 3n]]));
  assert.equal(s.columns.get("a")!.total, 13n);
  assert.deepEqual(s.columns.get("a")!.resets, new Map([["counter_went_down", 1n]]));
});

/** mulberry32: a small seeded generator, so a failure can be replayed. */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

Deno.test("totals: over random series with resets the total never goes down and equals the summed usage", () => {
  const seed = Number(Deno.env.get("NETMON_TEST_SEED") ?? Date.now() % 2 ** 31);
  console.log(`running totals seed ${seed} (set NETMON_TEST_SEED to replay)`);
  const rand = rng(seed);
  for (let series = 0; series < 200; series++) {
    const counters = new Map([["a", 0n], ["b", 1n << 60n]]);
    let totals = undefined as ReturnType<typeof nextTotals> | undefined;
    let last: Sample | undefined;
    let summed = new Map<string, bigint>([["a", 0n], ["b", 0n]]);
    let downs = 0n;
    for (let i = 0; i < 50; i++) {
      for (const [k, v] of counters) {
        if (rand() < 0.1) counters.set(k, BigInt(Math.floor(rand() * 1000)));
        else counters.set(k, v + BigInt(Math.floor(rand() * 1e6)) * 1_000_003n);
      }
      const s = sample(`2024/03/01-10:${String(i).padStart(2, "0")}:00`, [...counters]);
      const before = totals;
      totals = nextTotals(totals, s);
      if (last) {
        const u = computeUsage({ sample: last, totalStart: last.timestamp }, s);
        for (const m of u.meters) summed.set(m.meter, summed.get(m.meter)! + m.usage);
        downs += BigInt(u.resets.length);
      }
      for (const [k, c] of totals.columns) {
        assert.ok(c.total >= (before?.columns.get(k)?.total ?? 0n), `seed ${seed}: ${k} went down`);
        assert.equal(c.total, summed.get(k), `seed ${seed}: ${k} at step ${i}`);
      }
      last = s;
    }
    const r = [...totals!.columns.values()].reduce((n, c) => n + (c.resets.get("counter_went_down") ?? 0n), 0n);
    assert.equal(r, downs, `seed ${seed}: reset counts`);
    summed = new Map();
  }
});

Deno.test("totals: totalsOfSamples over a log equals stepping, and resumes from a state", () => {
  const samples = [
    sample("2024/03/01-10:00:00", [["a", 5n]]),
    sample("2024/03/01-10:05:00", [["a", 9n]]),
    sample("2024/03/01-10:10:00", [["a", 2n]]),
  ];
  const whole = totalsOfSamples(samples)!;
  assert.equal(whole.columns.get("a")!.total, 6n);
  assert.equal(whole.stamp, "2024/03/01-10:10:00");
  assert.deepEqual(totalsOfSamples(samples.slice(2), totalsOfSamples(samples.slice(0, 2))), whole);
  assert.equal(totalsOfSamples([]), undefined);
});

Deno.test("totals file: round-trips exactly, removed columns included", () => {
  let s = nextTotals(undefined, sample("2024/03/01-10:00:00", [["a", 1n], ["b-v6", (1n << 64n) - 1n]]));
  s = nextTotals(s, sample("2024/03/01-10:05:00", [["a", 0n]]), new Map([["a", "reboot"]]));
  s = nextTotals(s, sample("2024/03/01-10:10:00", [["a", 5n]]), new Map([["a", "rules re-created"]]));
  s = nextTotals(s, sample("2024/03/01-10:15:00", [["a", 1n]]));
  const text = formatTotals(s);
  assert.equal(
    text,
    "# netmon totals 2\nstamp\t2024/03/01-10:15:00\n" +
      "column\ta\t6\t1\treboot=1,rules_recreated=1,counter_went_down=1\ncolumn\tb-v6\t0\t-\t-\n",
  );
  assert.deepEqual(parseTotals(text, "netmon.totals"), s);
});

Deno.test("totals file: damage is a DataError naming file:line and the fix", () => {
  const ok = "# netmon totals 2\nstamp\t2024/03/01-10:05:00\ncolumn\ta\t5\t7\treboot=1\n";
  assert.throws(() => parseTotals(ok.slice(0, -1), "T"), /^DataError: T: the last line is incomplete/);
  assert.throws(
    () => parseTotals("# netmon totals 3\n", "T"),
    (e) => e instanceof DataError && /^T:1:/.test(e.message),
  );
  assert.throws(() => parseTotals(ok.replace("stamp", "stmp"), "T"), /^DataError: T:2:/);
  assert.throws(
    () => parseTotals(ok.replace("\t5\t", "\t-5\t"), "T"),
    /T:3: total "-5" is not a whole number .*rebuilds it/,
  );
  assert.throws(() => parseTotals(ok + "column\ta\t1\t1\t-\n", "T"), /T:4: column a appears twice/);
  assert.throws(() => parseTotals(ok.replace("reboot=1", "Reboot=1"), "T"), /T:3: resets "Reboot=1" must be/);
  assert.throws(() => parseTotals(ok.replace("reboot=1", "reboot=1,reboot=2"), "T"), /T:3: resets .* must be/);
  assert.throws(() => parseTotals(ok.replace("reboot=1", "reboot=x"), "T"), /T:3: reset count "x"/);
  assert.throws(() => parseTotals(ok.replace("\treboot=1", "\t0\t0"), "T"), /T:3: expected "column" and 4/);
});

Deno.test("totals: resets counted by issue 17's reason, a counter that went down unflagged as counter_went_down", () => {
  // Every reason the record step gives has its label, in the order the textfile lists them.
  assert.deepEqual(
    [
      REASONS.wentDown,
      REASONS.reboot,
      REASONS.interfaceRecreated,
      REASONS.counterRecreated,
      REASONS.rulesRecreated,
      REASONS.packetsWentDown,
    ].map(resetLabel),
    RESET_LABELS,
  );
  assert.equal(resetLabel("Odd -- reason!"), "odd_reason");
  assert.equal(resetLabel("!!"), "unknown");
  let s = nextTotals(undefined, sample("2024/03/01-10:00:00", [["a", 100n], ["b", 100n]]));
  // A reboot where a's counter went down is a reboot; b's went up, though re-created: counted whole.
  s = nextTotals(
    s,
    sample("2024/03/01-10:05:00", [["a", 7n], ["b", 150n]]),
    new Map([["a", "reboot"], ["b", "interface re-created"]]),
  );
  s = nextTotals(s, sample("2024/03/01-10:10:00", [["a", 3n], ["b", 160n]]));
  assert.deepEqual(s.columns.get("a"), {
    total: 10n,
    counter: 3n,
    resets: new Map([["reboot", 1n], ["counter_went_down", 1n]]),
  });
  assert.deepEqual(s.columns.get("b"), { total: 160n, counter: 160n, resets: new Map([["interface_recreated", 1n]]) });
  // Rebuilt from samples as the log reader gives them (sample.resets from '# netmon reset:' lines): the same.
  const samples: Sample[] = [
    sample("2024/03/01-10:00:00", [["a", 100n], ["b", 100n]]),
    {
      ...sample("2024/03/01-10:05:00", [["a", 7n], ["b", 150n]]),
      resets: new Map([["a", "reboot"], ["b", "interface re-created"]]),
    },
    sample("2024/03/01-10:10:00", [["a", 3n], ["b", 160n]]),
  ];
  assert.deepEqual(totalsOfSamples(samples), s);
});

Deno.test("totals: a column new to the log with a reset line at its first sample counts its value, as the report and the summary do", () => {
  // `netmon start` made meter b's counter after the last report (a start record, so a reset line in the log): the
  // report bills all it counted, and so does every reader of the log (lib/usage/engine.ts).
  let t = nextTotals(undefined, sample("2024/03/01-10:00:00", [["a", 1n]]));
  const previous = sample("2024/03/01-10:00:00", [["a", 1n]]);
  const now = sample("2024/03/01-10:05:00", [["a", 2n], ["b", 700n]]);
  const reasons = new Map([["b", "rules re-created"]]);
  t = nextTotals(t, now, reasons);
  const billed = computeUsage({ sample: previous, totalStart: previous.timestamp }, now, reasons).meters
    .find((m) => m.meter === "b")?.usage;
  assert.equal(billed, 700n);
  assert.equal(t.columns.get("b")!.total, billed);
  assert.deepEqual(t.columns.get("b")!.resets, new Map([[resetLabel("rules re-created"), 1n]]));
  // Without a reset line (a counter netmon kept), it starts at its first value, as the report does.
  const kept = nextTotals(nextTotals(undefined, previous), now);
  assert.equal(kept.columns.get("b")!.total, 0n);
});
