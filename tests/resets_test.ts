/**
 * Resets the counter cannot show, in-process: the rules that find them
 * (lib/usage/resets.ts), the reset line's format, the identity file's
 * generations across every crash window (lib/state/identity.ts), and the log
 * readers and the graph engine honouring reset lines.
 */
import { deepEqual as assertEquals, match, ok, throws } from "node:assert/strict";
import { BOOT_JITTER, findResets, type Identities, REASONS } from "../lib/usage/resets.ts";
import { formatLogLine, formatResetLine, parseResetLine, type Sample } from "../lib/state/log_format.ts";
import { checkResets, identityPaths } from "../lib/state/identity.ts";
import { stateFiles } from "../lib/state/files.ts";
import { recordSample } from "../lib/state/record.ts";
import { forEachLogSample } from "../lib/state/log_reader.ts";
import { dropStarts, readStarts, recordingStart } from "../lib/state/started.ts";
import { graphLog } from "../lib/usage/buckets.ts";
import type { Reading } from "../lib/sources/source.ts";
import { netmon, run, RUN_ALLOW, withTempDir } from "./helpers.ts";

const sample = (stamp: string, values: Record<string, bigint>): Sample => ({
  timestamp: stamp,
  counters: new Map(Object.entries(values)),
});
const ids = (
  at: number,
  boot: number,
  cols: Record<string, { id?: string; packets?: bigint; evaluations?: bigint }>,
): Identities => {
  const entries = Object.entries(cols);
  return {
    at,
    boot,
    columns: entries.map(([c]) => c),
    ids: entries.map(([, v]) => v.id ?? ""),
    packets: entries.map(([, v]) => (v.packets === undefined ? "" : String(v.packets))),
    evaluations: entries.map(([, v]) => (v.evaluations === undefined ? "" : String(v.evaluations))),
  };
};

Deno.test("findResets: each sign gives its reason, whatever the counter's value", () => {
  const prev = sample("2026/01/01-00:00:00", { a: 100n, b: 100n, c: 100n, d: 100n });
  const now = sample("2026/01/01-00:05:00", { a: 500n, b: 50n, c: 500n, d: 500n });
  const before = ids(1000, 0, { a: { id: "1.1", packets: 10n }, b: {}, c: { packets: 10n }, d: { packets: 10n } });
  const after = ids(1300, 0, { a: { id: "2.1", packets: 20n }, b: {}, c: { packets: 5n }, d: { packets: 11n } });
  const r = findResets({
    previous: prev,
    previousIds: before,
    sample: now,
    ids: after,
    identityReason: REASONS.counterRecreated,
  });
  assertEquals(Object.fromEntries(r), { a: "counter re-created", b: "counter went down", c: "packets went down" });
  const started = findResets({ previous: prev, previousIds: before, sample: now, ids: after, started: new Set(["d"]) });
  assertEquals(started.get("d"), "rules re-created");
  const fresh = sample("2026/01/01-00:05:00", { a: 500n, e: 30n, f: 40n });
  const added = findResets({
    previous: prev,
    previousIds: before,
    sample: fresh,
    ids: ids(1300, 0, { a: { id: "1.1", packets: 20n }, e: { id: "1.2" }, f: {} }),
    started: new Set(["a", "e"]),
  });
  assertEquals(
    Object.fromEntries(added),
    { e: "rules re-created" },
    "a new column start made is reset, one it did not make is not; a counter with its previous identity was not " +
      "made since, whatever a start recorded",
  );
  const pf = findResets({
    previous: prev,
    previousIds: ids(1000, 0, { a: { evaluations: 9n } }),
    sample: now,
    ids: ids(1300, 0, { a: { evaluations: 2n } }),
  });
  assertEquals(pf.get("a"), "rules re-created", "pf: fewer rule evaluations than before is a ruleset reload");
  const restored = findResets({
    previous: prev,
    previousIds: before,
    sample: sample("2026/01/01-00:05:00", { a: 100n }),
    ids: ids(1300, 0, { a: { id: "2.1", packets: 10n } }),
    identityReason: REASONS.counterRecreated,
  });
  assertEquals(restored.size, 0, "another counter holding exactly the old bytes and packets: a restored ruleset");
});

Deno.test("findResets: a boot after the previous sample is a reboot for every column; clock steps are not", () => {
  const prev = sample("2026/01/01-00:00:00", { a: 100n, b: 100n });
  const now = sample("2026/01/01-00:05:00", { a: 500n, b: 500n, fresh: 7n });
  const at = 1_000_000;
  const check = (boot: number) =>
    findResets({ previous: prev, previousIds: ids(at, at - 3600, {}), sample: now, ids: ids(at + 300, boot, {}) });
  assertEquals(
    Object.fromEntries(check(at + 200)),
    { a: "reboot", b: "reboot", fresh: "reboot" },
    "a new column too: its counter counts from the boot, after the previous sample",
  );
  assertEquals(check(at + BOOT_JITTER).size, 0, "within the jitter");
  assertEquals(check(at - 3600 + 1800).size, 0, "the clock stepped forward by less than the uptime");
  assertEquals(check(at - 3600 - 600).size, 0, "the clock stepped back");
  const unknown = findResets({ previous: prev, previousIds: undefined, sample: now, ids: ids(at, at, {}) });
  assertEquals(unknown.size, 0, "no identities yet: only a counter that went down could be seen");
  const carried = findResets({
    previous: prev,
    previousIds: ids(at, 0, {}),
    sample: now,
    ids: ids(at + 300, at + 200, {}),
    carried: true,
  });
  assertEquals(carried.size, 0, "pf -z: netmon's running sums are no kernel counter");
});

Deno.test("reset lines: the format both readers share, and what is not one", () => {
  const line = formatResetLine("eth0:rx", "interface re-created");
  assertEquals(line, "# netmon reset:\teth0:rx\tinterface re-created\n");
  assertEquals(parseResetLine(line.slice(0, -1)), { column: "eth0:rx", reason: "interface re-created" });
  assertEquals(parseResetLine("# netmon meters:\ta\tb"), undefined);
  throws(() => parseResetLine("# netmon reset:\teth0:rx"), /expected "# netmon reset:<TAB>COLUMN<TAB>REASON"/);
  ok(line.trim().split(/\s+/).length !== 3, "the original graph script (three fields only) skips it");
});

/** A reading of `values` with identities `idOf`. */
function reading(values: Record<string, bigint>, idOf: Record<string, string> = {}): Reading {
  return {
    bytes: new Map(Object.entries(values)),
    identities: new Map(Object.entries(idOf)),
    identityReason: "interface re-created",
  };
}

Deno.test("a report logs the resets its counters cannot show, and its usage is the new value", () =>
  withTempDir(async (dir) => {
    const files = stateFiles(dir);
    let second = 0;
    const now = () => `2026/03/01-10:00:${String(second++).padStart(2, "0")}`;
    const clock = () => ({ at: 1_000_000 + second, boot: 1000 });
    const record = (values: Record<string, bigint>, idOf: Record<string, string>) =>
      recordSample(files, { readCounters: () => Promise.resolve(reading(values, idOf)), now, clock });
    await record({ "e:rx": 100n, "e:tx": 50n }, { "e:rx": "4", "e:tx": "4" });
    const r = await record({ "e:rx": 900n, "e:tx": 10n }, { "e:rx": "9", "e:tx": "9" });
    assertEquals(r.usage.meters.map((m) => [m.meter, m.usage, m.reason]), [
      ["e:rx", 900n, "interface re-created"],
      ["e:tx", 10n, "interface re-created"],
    ]);
    const log = await Deno.readTextFile(`${dir}/netmon.log`);
    assertEquals(
      log,
      "# netmon meters:\te:rx\te:tx\n2026/03/01-10:00:00\t100\t50\n" +
        "# netmon reset:\te:rx\tinterface re-created\n2026/03/01-10:00:01\t900\t10\n",
      "only rx gets a line: tx went down, which the counter shows",
    );
    const third = await record({ "e:rx": 950n, "e:tx": 20n }, { "e:rx": "9", "e:tx": "9" });
    assertEquals(third.usage.resets, [], "the same interface again: growth");
    const seen: [string, Map<string, string> | undefined][] = [];
    await forEachLogSample(files.log, (s) => seen.push([s.timestamp, s.resets]));
    assertEquals(seen.map(([, r]) => r && Object.fromEntries(r)), [
      undefined,
      { "e:rx": "interface re-created" },
      undefined,
    ]);
  }));

Deno.test("the boot time moved past the previous sample (the seam recordSample takes): every column is a reboot", () =>
  withTempDir(async (dir) => {
    const files = stateFiles(dir);
    let at = 2_000_000;
    let boot = at - 5000;
    let n = 0;
    const record = (v: bigint) =>
      recordSample(files, {
        readCounters: () => Promise.resolve({ bytes: new Map([["a", v], ["b", v]]) }),
        now: () => `2026/03/01-10:${String(n++).padStart(2, "0")}:00`,
        clock: () => ({ at: at++, boot }),
      });
    await record(10n);
    assertEquals((await record(20n)).usage.resets, []);
    at += 100;
    boot = at - 50;
    const r = await record(30n);
    assertEquals(r.usage.meters.map((m) => [m.usage, m.reason]), [[30n, "reboot"], [30n, "reboot"]]);
  }));

Deno.test("netmon.ident: whatever instant a report stops at, the next finds the previous sample's identities", () =>
  withTempDir(async (dir) => {
    const files = stateFiles(dir);
    const clock = { at: 5000, boot: 100 };
    const s1 = sample("2026/03/01-10:00:00", { x: 10n });
    const s2 = sample("2026/03/01-10:05:00", { x: 20n });
    const s3 = sample("2026/03/01-10:10:00", { x: 30n });
    const first = checkResets(files, undefined, s1, reading({ x: 10n }, { x: "A" }), clock, []);
    const line1 = formatLogLine(s1);
    first.commit(line1);
    await Deno.writeTextFile(files.log, line1);
    // s2 is read on a re-created counter, its identities committed, then the run dies before its append.
    const w: string[] = [];
    const second = checkResets(files, s1, s2, reading({ x: 20n }, { x: "B" }), clock, w);
    assertEquals(Object.fromEntries(second.resets), { x: "interface re-created" });
    second.commit(second.lines + formatLogLine(s2));
    // The next run still compares with s1, so it still sees the re-creation (not missed) ...
    const retry = checkResets(files, s1, s3, reading({ x: 30n }, { x: "B" }), clock, w);
    assertEquals(Object.fromEntries(retry.resets), { x: "interface re-created" });
    const text = retry.lines + formatLogLine(s3);
    retry.commit(text);
    await Deno.writeTextFile(files.log, text, { append: true });
    // ... and the one after compares with s3: the same counter, no reset counted twice.
    const s4 = sample("2026/03/01-10:15:00", { x: 40n });
    const after = checkResets(files, s3, s4, reading({ x: 40n }, { x: "B" }), clock, w);
    assertEquals(after.resets.size, 0);
    assertEquals(w, []);
    // Each of the two files holds one generation, overwritten in turn.
    for (const path of identityPaths(files)) {
      assertEquals((await Deno.readTextFile(path)).match(/^sample\t/gm)?.length, 1, path);
    }
  }));

Deno.test("netmon.ident: a generation torn while written (killed, or a power cut) is never used; the other file's is", () =>
  withTempDir(async (dir) => {
    const files = stateFiles(dir);
    const clock = { at: 5000, boot: 100 };
    const s1 = sample("2026/03/01-10:00:00", { x: 10n });
    const s2 = sample("2026/03/01-10:05:00", { x: 20n });
    const s3 = sample("2026/03/01-10:10:00", { x: 30n });
    const line1 = formatLogLine(s1);
    checkResets(files, undefined, s1, reading({ x: 10n }, { x: "A" }), clock, []).commit(line1);
    await Deno.writeTextFile(files.log, line1);
    const [a, b] = identityPaths(files);
    const kept = await Deno.readTextFile(a);
    // s2 is read on a re-created counter (A -> B), its generation written over the other file.
    const second = checkResets(files, s1, s2, reading({ x: 20n }, { x: "B" }), clock, []);
    const line2 = second.lines + formatLogLine(s2);
    second.commit(line2);
    const whole = await Deno.readTextFile(b);
    assertEquals(await Deno.readTextFile(a), kept, "the previous sample's generation is left as it was");
    // Killed while writing it (the log still ends with s1): whatever is torn, s1's generation is found and the
    // re-creation is seen.
    for (const t of [whole.slice(0, whole.length - 5), whole.slice(0, whole.indexOf("\nend\t") + 1), ""]) {
      await Deno.writeTextFile(b, t);
      const w: string[] = [];
      const retry = checkResets(files, s1, s3, reading({ x: 30n }, { x: "B" }), clock, w);
      assertEquals(Object.fromEntries(retry.resets), { x: "interface re-created" }, JSON.stringify(t));
      assertEquals(w, []);
    }
    // s2 appended; then a power cut left a page of its generation old (A): its tag matches the log, but the hash
    // does not, so it is not believed (no false "re-created"): the identities are unknown for this interval.
    await Deno.writeTextFile(files.log, line2, { append: true });
    const mixed = whole.replace("\nid\tB\n", "\nid\tA\n");
    ok(mixed !== whole, whole);
    await Deno.writeTextFile(b, mixed);
    assertEquals(checkResets(files, s2, s3, reading({ x: 30n }, { x: "B" }), clock, []).resets.size, 0);
    // Whole, with a longer generation's tail after it (killed before the cut to length): used, so a real
    // re-creation (B -> C) is seen.
    await Deno.writeTextFile(b, whole + "packets\t1\t2\n");
    const next = checkResets(files, s2, s3, reading({ x: 30n }, { x: "C" }), clock, []);
    assertEquals(Object.fromEntries(next.resets), { x: "interface re-created" });
  }));

Deno.test("start records: applied once by the next report, even if it dies before removing them", () =>
  withTempDir(async (dir) => {
    const files = stateFiles(dir);
    const s1 = sample("2026/03/01-10:00:00", { x: 10n, y: 10n });
    const s2 = sample("2026/03/01-10:05:00", { x: 20n, y: 20n });
    const s3 = sample("2026/03/01-10:10:00", { x: 30n, y: 30n });
    const clock = { at: 5000, boot: 100 };
    const read = (v: bigint) => ({ bytes: new Map([["x", v], ["y", v]]), asWritten: new Set(["x"]) });
    await Deno.writeTextFile(files.log, formatLogLine(s1));
    checkResets(files, undefined, s1, read(10n), clock, []).commit(formatLogLine(s1));
    let ran = false;
    await recordingStart(files, ["x", "y"], () => Promise.resolve(void (ran = true)));
    ok(ran);
    assertEquals(readStarts(files).map((r) => r.columns), [["x", "y"]]);
    const c = checkResets(files, s1, s2, read(20n), clock, []);
    assertEquals(Object.fromEntries(c.resets), { x: "rules re-created" }, "y's rules are not as start writes them");
    const text = c.lines + formatLogLine(s2);
    c.commit(text);
    await Deno.writeTextFile(files.log, text, { append: true });
    // Killed before cleanup: the record is still there, and is not applied again.
    assertEquals(readStarts(files).length, 1);
    const next = checkResets(files, s2, s3, read(30n), clock, []);
    assertEquals(next.resets.size, 0);
    next.commit(formatLogLine(s3));
    await Deno.writeTextFile(files.log, formatLogLine(s3), { append: true });
    next.cleanup();
    assertEquals(readStarts(files), []);
    dropStarts(files, new Set(["0000000000000000"]));
  }));

Deno.test("start records: one names its source, and a reading of another source takes it as applied, to no effect", () =>
  withTempDir(async (dir) => {
    const files = stateFiles(dir);
    const s1 = sample("2026/03/01-10:00:00", { x: 10n });
    const s2 = sample("2026/03/01-10:05:00", { x: 20n });
    const clock = { at: 5000, boot: 100 };
    await Deno.writeTextFile(files.log, formatLogLine(s1));
    checkResets(files, undefined, s1, { bytes: new Map([["x", 10n]]) }, clock, []).commit(formatLogLine(s1));
    await recordingStart(files, ["x"], () => Promise.resolve(), "iptables");
    assertEquals(readStarts(files).map((r) => [r.source, r.columns]), [["iptables", ["x"]]]);
    match(await Deno.readTextFile(`${dir}/netmon.started`), /\n[0-9a-f]{16}:iptables\tx\n$/);
    const c = checkResets(files, s1, s2, { bytes: new Map([["x", 20n]]), source: "nftables" }, clock, []);
    assertEquals(c.resets.size, 0, "the iptables rules re-created are not what nftables counts");
    c.commit(formatLogLine(s2));
    await Deno.writeTextFile(files.log, formatLogLine(s2), { append: true });
    c.cleanup();
    assertEquals(readStarts(files), [], "consumed all the same");
  }));

/** The graph data of `log` by `by`, through the engine graph.ts uses. */
async function graphOf(dir: string, log: string, by: "entry" | "day"): Promise<string> {
  await Deno.writeTextFile(`${dir}/g.log`, log);
  const file = await Deno.open(`${dir}/g.log`);
  let out = "";
  const warnings: string[] = [];
  try {
    graphLog(file, `${dir}/g.log`, {
      by,
      unit: "B",
      groups: [],
      other: false,
      strict: true,
      warn: (m) => warnings.push(m),
    }, (t) => out += t);
  } finally {
    file.close();
  }
  assertEquals(warnings, []);
  return out;
}

Deno.test("graph's engine counts a reset line's meter from zero, by entry and by bucket, original log or not", () =>
  withTempDir(async (dir) => {
    const TZ = Deno.env.get("TZ");
    Deno.env.set("TZ", "UTC");
    try {
      const log = "# netmon meters:\ta\tb\n2026/03/01-10:00:00\t100\t100\n2026/03/01-11:00:00\t150\t160\n" +
        formatResetLine("a", "reboot") + "2026/03/01-12:00:00\t900\t170\n";
      assertEquals(
        await graphOf(dir, log, "entry"),
        "Date\ta\tb\n2026/03/01-10:00:00\t100\t100\n2026/03/01-11:00:00\t50\t60\n2026/03/01-12:00:00\t900\t10\n",
      );
      assertEquals(await graphOf(dir, log, "day"), "Date\ta\tb\n2026/03/01\t950\t70\n");
      // The original's two columns, no header: the reset line applies to its meter alone.
      const original = "2010/02/25-10:00:00\t100\t100\n" + formatResetLine("proxy", "rules re-created") +
        "2010/02/25-11:00:00\t300\t150\n";
      assertEquals(
        await graphOf(dir, original, "entry"),
        "Date\tProxy\tNon-Network\n2010/02/25-10:00:00\t100\t100\n2010/02/25-11:00:00\t300\t50\n",
      );
    } finally {
      if (TZ === undefined) Deno.env.delete("TZ");
      else Deno.env.set("TZ", TZ);
    }
  }));

Deno.test("the original graph script reads a log with reset lines as if they were not there", () =>
  withTempDir(async (dir) => {
    const script = new URL("./original/netmon_graph.py", import.meta.url).pathname;
    const lines = ["2010/02/25-10:00:00\t100\t100\n", "2010/02/25-11:00:00\t300\t150\n"];
    const dat = async (log: string) => {
      await Deno.writeTextFile(`${dir}/netmon.log`, log);
      const r = await run("python3", [script, `${dir}/netmon.log`], { cwd: dir });
      assertEquals(r.code, 0, r.stderr);
      return await Deno.readTextFile(`${dir}/netmon_graph.dat`);
    };
    const plain = await dat(lines.join(""));
    const withResets = await dat(lines[0] + formatResetLine("proxy", "rules re-created") + lines[1]);
    assertEquals(withResets, plain);
    assertEquals(plain.split("\n").length, 4);
  }));

Deno.test("without --allow-sys=osUptime a report stops before reading a counter, naming the flag", () =>
  withTempDir(async (dir) => {
    const r = await netmon(["-s", dir], {
      env: { NETMON_CONFIG: "" },
      permissions: [RUN_ALLOW, `--allow-read=${dir}`, `--allow-write=${dir}`, "--allow-env", "--allow-sys=uid"],
    });
    assertEquals([r.code, r.stdout, r.stderr], [
      77,
      "",
      "netmon: Deno denied sys access to osUptime: run it with --allow-sys=osUptime (or a permission set from deno.json)\n",
    ]);
    assertEquals([...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => n.startsWith("netmon.log")), []);
  }));
