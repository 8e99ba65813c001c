/**
 * `netmon.totals` as offsets (lib/state/totals_file.ts): its text, that it
 * is rewritten only when an offset changes, that it is believed only when its
 * time names the log's last sample (checked against every crash window of
 * the record transaction, with real SIGKILLs, and against a file that was
 * not kept up: runs without the textfile, an older copy, an edited one), and
 * the migration from version 2.
 *
 * @module
 */

import assert from "node:assert/strict";
import { DataError } from "../lib/host/errors.ts";
import { stateFiles } from "../lib/state/files.ts";
import { recordSample } from "../lib/state/record.ts";
import {
  formatOffsets,
  loadTotals,
  markOf,
  parseOffsets,
  prepareTotals,
  readTotals,
  totalsOfLog,
  totalsPath,
} from "../lib/state/totals_file.ts";
import { formatTotals } from "../lib/state/totals_v2.ts";
import { advanceOffsets, totalsAt, totalsOfSamples } from "../lib/usage/running_totals.ts";
import { type CrashAt, recordStep, type Step } from "./totals_crash_driver.ts";
import { withTempDir } from "./helpers.ts";

const stamp = (i: number) => `2024/03/01-10:${String(i).padStart(2, "0")}:00`;

/**
 * Counters through every kind of change: a counter that went down (2), a counter re-created although it went up (even
 * from the sample before 2, should 2 be lost: a reset that only the counter shows has no reason in the log) and a
 * column added (3), a column removed (4) and added back (5), then nothing (6).
 */
const STEPS: Step[] = [
  [["a", 100, "1"], ["b", 50, "1"]],
  [["a", 300, "1"], ["b", 80, "1"]],
  [["a", 20, "1"], ["b", 90, "1"]],
  [["a", 400, "2"], ["b", 95, "1"], ["c", 7, "1"]],
  [["a", 405, "2"], ["c", 9, "1"]],
  [["a", 410, "2"], ["b", 5, "1"], ["c", 10, "1"]],
  [["a", 411, "2"], ["b", 6, "1"], ["c", 11, "1"]],
].map((columns, i) => ({ stamp: stamp(i), columns: columns as Step["columns"] }));

/** The totals netmon.totals in `dir` holds for the log's last sample; fails if it is not kept up to that sample. */
async function keptTotals(dir: string) {
  const files = stateFiles(dir);
  const fromLog = await totalsOfLog(files.log);
  assert.ok(fromLog, "the log has samples");
  const warnings: string[] = [];
  const kept = await readTotals(totalsPath(dir), fromLog.stamp, warnings);
  kept?.file.close();
  assert.deepEqual(warnings, []);
  assert.ok(kept, `netmon.totals is kept up to ${fromLog.stamp}`);
  const last = {
    timestamp: fromLog.stamp,
    counters: new Map([...fromLog.columns].flatMap(([c, t]) => t.counter === undefined ? [] : [[c, t.counter]])),
  };
  return { kept: totalsAt(kept.offsets, last), fromLog };
}

Deno.test("totals file: version 3 round-trips exactly; damage is a DataError naming file:line and the fix", () => {
  const offsets = {
    stamp: "2024/03/01-10:05:00",
    columns: ["a", "b-v6"],
    offsets: [-100n, (1n << 64n) - 1n],
    resets: [new Map([["reboot", 1n], ["counter_went_down", 2n]]), new Map()],
  };
  const text = formatOffsets(offsets);
  assert.equal(
    text,
    "# netmon totals 3\nstamp\t2024/03/01-10:05:00\ncolumns\ta\tb-v6\noffsets\t-100\t18446744073709551615\n" +
      "resets\treboot=1,counter_went_down=2\t-\n",
  );
  assert.deepEqual(parseOffsets(text, "T"), offsets);
  // The columns the last sample had, given to make the reading quicker, change nothing in what is read.
  for (const known of [["a", "b-v6"], ["a"], [], ["b-v6", "a"], ["a", "b"], ["a", "b-v6", "c"]]) {
    assert.deepEqual(parseOffsets(text, "T", known), offsets, JSON.stringify(known));
  }
  const none = { stamp: offsets.stamp, columns: [], offsets: [], resets: [] };
  assert.deepEqual(parseOffsets(formatOffsets(none), "T"), none);
  const bad: [string, RegExp][] = [
    [text.replace("# netmon totals 3", "# netmon totals 4"), /^T:1: expected "# netmon totals 3"/],
    [text.slice(0, -1), /^T: the last line is incomplete/],
    [text.replace("stamp\t", "stamp\tx"), /^T:2: expected "stamp/],
    [text.replace("\tb-v6\n", "\n"), /^T:4: expected "offsets" and 1 tab-separated values/],
    [text.replace("\t-100\t", "\t-1x0\t"), /^T:4: offset "-1x0" is not a whole number/],
    [text.replace("\t-100\t", "\t\t"), /^T:4: offset "" is not a whole number/],
    [text.replace("columns\ta", "columns\t"), /^T:3: a column has no name/],
    [text.replace("\t-\n", "\treboot=x\n"), /^T:5: reset count "x" is not a whole number/],
    [text.replace("\t-\n", "\tReboot=1\n"), /^T:5: resets "Reboot=1" must be "-" or REASON=COUNT/],
    [text.replace("resets", "reset"), /^T:5: expected "resets" and 2 tab-separated values/],
    [text + "more\n", /^T: expected 5 lines, not 6/],
  ];
  for (const [damaged, want] of bad) {
    assert.throws(() => parseOffsets(damaged, "T"), (e) => {
      assert.ok(e instanceof DataError, damaged);
      assert.match(e.message, want);
      assert.match(e.message, /delete the file: netmon rebuilds it from the log/);
      return true;
    });
  }
  assert.throws(
    () => formatOffsets({ ...none, columns: ["a b"], offsets: [0n], resets: [new Map()] }),
    /cannot be stored/,
  );
});

Deno.test("totals file: rewritten only when an offset changes, otherwise only marked as kept up to the sample", async () => {
  await withTempDir(async (dir) => {
    const path = totalsPath(dir);
    // The sample at which the offsets last changed, after each step.
    const changedAt = [0, 0, 2, 3, 4, 5, 5];
    let inode: number | null = null;
    for (const [i, step] of STEPS.entries()) {
      assert.deepEqual(await recordStep(dir, step), []);
      const text = await Deno.readTextFile(path);
      const s = await Deno.stat(path);
      assert.equal(parseOffsets(text, path).stamp, stamp(changedAt[i]!), `step ${i}`);
      assert.equal(s.mtime!.getTime() / 1000, markOf(step.stamp), `step ${i}: kept up to its sample`);
      // A new file (a new inode, renamed into place) exactly when the offsets changed.
      assert.equal(s.ino === inode, i > 0 && changedAt[i] === changedAt[i - 1], `step ${i}: rewritten?`);
      inode = s.ino;
      const { kept, fromLog } = await keptTotals(dir);
      assert.deepEqual(kept, fromLog, `step ${i}`);
    }
    const { kept } = await keptTotals(dir);
    // a: 200 + 20 (went down) + 400 (re-created) + 5 + 5 + 1; b: 30 + 10 + 5, removed, back with 5, below its last
    // value 95 (a reset: counted whole), 1.
    assert.equal(kept.columns.get("a")?.total, 631n);
    assert.deepEqual(kept.columns.get("a")?.resets, new Map([["counter_went_down", 1n], ["counter_recreated", 1n]]));
    assert.equal(kept.columns.get("b")?.total, 51n);
    assert.deepEqual(kept.columns.get("b")?.resets, new Map([["counter_went_down", 1n]]));
    assert.equal(kept.columns.get("c")?.total, 4n);
  });
});

const DRIVER = new URL("./totals_crash_driver.ts", import.meta.url).pathname;

Deno.test({
  name: "totals file: SIGKILL at every step of recording each kind of change: the next report's totals are the log's",
  sanitizeResources: false,
  async fn() {
    const crashes: CrashAt[] = ["before-append", "after-append", "after-last", "after-rename"];
    for (const at of [2, 3, 4, 5, 6]) {
      for (const crashAt of crashes) {
        await withTempDir(async (dir) => {
          for (let i = 0; i < at; i++) await recordStep(dir, STEPS[i]!);
          const child = await new Deno.Command(Deno.execPath(), {
            args: ["run", "--frozen", "-A", DRIVER, dir, JSON.stringify(STEPS[at]), crashAt],
            stdout: "null",
            stderr: "piped",
          }).output();
          assert.equal(child.signal, "SIGKILL", `${crashAt} at ${at}: ${new TextDecoder().decode(child.stderr)}`);
          // The reports after it: whatever the crash left, their totals are the log's.
          for (let i = at + 1; i < STEPS.length; i++) await recordStep(dir, STEPS[i]!);
          if (at === STEPS.length - 1) await recordStep(dir, { ...STEPS[at]!, stamp: stamp(at + 1) });
          const { kept, fromLog } = await keptTotals(dir);
          assert.deepEqual(kept, fromLog, `${crashAt} at step ${at}`);
          const samples = (await Deno.readTextFile(`${dir}/netmon.log`)).split("\n").filter((l) => /^\d/.test(l));
          assert.equal(
            samples.length,
            STEPS.length + (at === STEPS.length - 1 ? 1 : 0) - (crashAt === "before-append" ? 1 : 0),
          );
        });
      }
    }
  },
});

Deno.test("totals file: read while the counters are, then replaced by another report before the lock: not believed", async () => {
  await withTempDir(async (dir) => {
    const files = stateFiles(dir);
    const path = totalsPath(dir);
    const sampleOf = (i: number, columns: [string, bigint][]) => ({ timestamp: stamp(i), counters: new Map(columns) });
    for (let i = 0; i < 2; i++) await recordStep(dir, STEPS[i]!);
    // This report reads netmon.totals while it reads its counters, but another one takes the lock first and records
    // a sample where a counter went down: the file is replaced.
    const early = { loaded: loadTotals(path) };
    await recordStep(dir, STEPS[2]!);
    const previous = sampleOf(2, [["a", 20n], ["b", 90n]]);
    const sample = sampleOf(3, [["a", 30n], ["b", 95n]]);
    const warnings: string[] = [];
    const p = await prepareTotals(dir, files.log, previous, sample, warnings, new Map(), early);
    p.file.abandon();
    assert.match(
      warnings.join("\n"),
      /was of 2024\/03\/01-10:01:00, not the last sample 2024\/03\/01-10:02:00: rebuilt/,
    );
    const expected = totalsOfSamples(
      [0, 1].map((i) => sampleOf(i, STEPS[i]!.columns.map(([c, n]) => [c, BigInt(n)]))).concat(previous, sample),
    );
    assert.deepEqual(totalsAt(p.offsets, sample), expected);
    // Had the other report changed no offset, it would only have marked the file read: that one is believed.
    const again = { loaded: loadTotals(path) };
    await recordStep(dir, { stamp: stamp(3), columns: [["a", 30, "1"], ["b", 95, "1"]] });
    const later = sampleOf(4, [["a", 31n], ["b", 96n]]);
    const w: string[] = [];
    const q = await prepareTotals(dir, files.log, sample, later, w, new Map(), again);
    q.file.abandon();
    assert.deepEqual(w, []);
    assert.deepEqual(totalsAt(q.offsets, later), totalsOfSamples([later], expected));
  });
});

Deno.test("totals file: one not kept up to the last sample is rebuilt, with a warning: runs without it, an older copy, an edit", async () => {
  await withTempDir(async (dir) => {
    const files = stateFiles(dir);
    const path = totalsPath(dir);
    for (let i = 0; i < 2; i++) await recordStep(dir, STEPS[i]!);
    const older = { text: await Deno.readTextFile(path), mtime: (await Deno.stat(path)).mtime! };
    // Reports without the textfile (it was taken out of the config, then put back): a reset netmon.totals never saw.
    for (let i = 2; i < 4; i++) {
      const step = STEPS[i]!;
      await recordSample(files, {
        readCounters: () =>
          Promise.resolve({
            bytes: new Map(step.columns.map(([c, n]) => [c, BigInt(n)])),
            identities: new Map(step.columns.map(([c, , id]) => [c, id])),
            identityReason: "counter re-created",
          }),
        now: () => step.stamp,
      });
    }
    const w = await recordStep(dir, STEPS[4]!);
    assert.match(
      w.join("\n"),
      /netmon\.totals was of 2024\/03\/01-10:01:00, not the last sample 2024\/03\/01-10:03:00: rebuilt from the log/,
    );
    let { kept, fromLog } = await keptTotals(dir);
    assert.deepEqual(kept, fromLog);
    // An older copy put back as it was, its time too (cp -p): rebuilt.
    await Deno.writeTextFile(path, older.text);
    await Deno.utime(path, older.mtime, older.mtime);
    assert.match(
      (await recordStep(dir, STEPS[5]!)).join("\n"),
      /was of 2024\/03\/01-10:01:00, not the last sample 2024\/03\/01-10:04:00/,
    );
    ({ kept, fromLog } = await keptTotals(dir));
    assert.deepEqual(kept, fromLog);
    // Edited, its time set back to its mark: offsets that lack a column of the last sample are not believed.
    const text = await Deno.readTextFile(path);
    const o = parseOffsets(text, path);
    const mtime = (await Deno.stat(path)).mtime!;
    await Deno.writeTextFile(
      path,
      formatOffsets({ ...o, columns: o.columns.slice(1), offsets: o.offsets.slice(1), resets: o.resets.slice(1) }),
    );
    await Deno.utime(path, mtime, mtime);
    assert.match(
      (await recordStep(dir, STEPS[6]!)).join("\n"),
      /netmon\.totals: The offsets are not those after the previous sample: its column "a" has none; rebuilt from the log/,
    );
    ({ kept, fromLog } = await keptTotals(dir));
    assert.deepEqual(kept, fromLog);
    // Deleted: rebuilt without a word.
    await Deno.remove(path);
    assert.deepEqual(await recordStep(dir, { ...STEPS[6]!, stamp: stamp(7) }), []);
    ({ kept, fromLog } = await keptTotals(dir));
    assert.deepEqual(kept, fromLog);
  });
});

Deno.test("totals file: version 2 of the last sample is taken over without a warning and written as version 3", async () => {
  await withTempDir(async (dir) => {
    const files = stateFiles(dir);
    const path = totalsPath(dir);
    // Reports of a netmon before offsets: the log and, beside it, the totals as version 2 wrote them.
    for (let i = 0; i < 5; i++) await recordStep(dir, STEPS[i]!);
    const samples = STEPS.slice(0, 5).map((s) => ({
      timestamp: s.stamp,
      counters: new Map(s.columns.map(([c, n]) => [c, BigInt(n)])),
    }));
    const v2 = await totalsOfLog(files.log);
    assert.deepEqual(
      v2,
      totalsOfSamples(samples.map((s, i) => i === 3 ? { ...s, resets: new Map([["a", "counter re-created"]]) } : s)),
    );
    await Deno.writeTextFile(path, formatTotals(v2!));
    assert.deepEqual(await recordStep(dir, STEPS[5]!), []);
    assert.ok((await Deno.readTextFile(path)).startsWith("# netmon totals 3\n"));
    let { kept, fromLog } = await keptTotals(dir);
    assert.deepEqual(kept, fromLog);
    assert.equal(kept.columns.get("b")?.total, 50n);
    // One of an older sample than the last: rebuilt, with a warning (as version 2 itself did).
    const stale = formatTotals(v2!);
    await recordStep(dir, STEPS[6]!);
    await Deno.writeTextFile(path, stale);
    const w = await recordStep(dir, { ...STEPS[6]!, stamp: stamp(7) });
    assert.match(
      w.join("\n"),
      /netmon\.totals was of 2024\/03\/01-10:04:00, not the last sample 2024\/03\/01-10:06:00: rebuilt/,
    );
    ({ kept, fromLog } = await keptTotals(dir));
    assert.deepEqual(kept, fromLog);
  });
});

Deno.test("totals: advancing keeps the offsets it was given unless a column is reset, added, removed or moved", () => {
  const at = (i: number, columns: [string, bigint][]) => ({ timestamp: stamp(i), counters: new Map(columns) });
  const s0 = at(0, [["a", 10n], ["b", 20n]]);
  const o0 = advanceOffsets(undefined, undefined, s0);
  assert.deepEqual([o0.columns, o0.offsets], [["a", "b"], [-10n, -20n]]);
  const s1 = at(1, [["a", 10n], ["b", 25n]]);
  assert.equal(advanceOffsets(o0, s0.counters, s1), o0, "growth and no change");
  const changed: [string, ReturnType<typeof at>, Map<string, string>?][] = [
    ["went down", at(2, [["a", 9n], ["b", 25n]])],
    ["flagged", at(2, [["a", 11n], ["b", 25n]]), new Map([["a", "reboot"]])],
    ["added", at(2, [["a", 11n], ["b", 25n], ["c", 1n]])],
    ["removed", at(2, [["a", 11n]])],
    ["moved", at(2, [["b", 25n], ["a", 11n]])],
  ];
  for (const [what, s, resets] of changed) {
    const o = advanceOffsets(o0, s1.counters, s, resets);
    assert.notEqual(o, o0, what);
    assert.equal(o.stamp, s.timestamp, what);
    // Laid out as the sample, then the columns it no longer has.
    assert.deepEqual(o.columns.slice(0, s.counters.size), [...s.counters.keys()], what);
    assert.deepEqual(totalsAt(o, s), totalsOfSamples([s0, s1, { ...s, ...(resets ? { resets } : {}) }]), what);
  }
  // Offsets that are not those after the previous sample.
  assert.throws(
    () => advanceOffsets(o0, at(1, [["a", 1n], ["z", 1n]]).counters, s1),
    /not those after the previous sample: its column "z" has none/,
  );
  const twice = { ...o0, columns: ["a", "a"] };
  assert.throws(() => advanceOffsets(twice, s0.counters, at(2, [["a", 1n]])), /they name a column twice/);
});
