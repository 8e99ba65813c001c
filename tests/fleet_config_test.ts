/**
 * The fleet keys of the config (host, [prometheus], a postgresql:// store
 * with [postgresql]) and netmon.totals kept beside netmon.last by the record
 * step: in-process.
 *
 * @module
 */

import assert from "node:assert/strict";
import { parseConfig } from "../lib/config/config.ts";
import { ConfigError } from "../lib/host/errors.ts";
import { stateFiles } from "../lib/state/files.ts";
import type { Sample } from "../lib/state/log_format.ts";
import { recordSample } from "../lib/state/record.ts";
import { markOf, parseOffsets, prepareTotals, totalsOfLog, totalsPath } from "../lib/state/totals_file.ts";
import { totalsAt, totalsOfSamples } from "../lib/usage/running_totals.ts";
import { withTempDir } from "./helpers.ts";

const URL_OK = "postgresql://netmon@db.example.org:5432/traffic";

Deno.test("fleet config: host, [prometheus] textfile and a postgresql store with [postgresql]", () => {
  const c = parseConfig(
    `host = "edge-1.example.org"\nstore = "${URL_OK}"\n[prometheus]\ntextfile = "/var/lib/prometheus/node-exporter/netmon.prom"\n` +
      `[postgresql]\npassword_file = "/etc/netmon/db.pw"\nsslmode = "verify-ca"\nca_file = "/etc/netmon/ca.pem"\n`,
    "netmon.toml",
  );
  assert.deepEqual(c.fleet, {
    host: "edge-1.example.org",
    textfile: "/var/lib/prometheus/node-exporter/netmon.prom",
    postgres: { url: URL_OK, passwordFile: "/etc/netmon/db.pw", sslmode: "verify-ca", caFile: "/etc/netmon/ca.pem" },
  });
  assert.equal(c.sqlite, undefined);
  assert.equal(parseConfig(`store = "sqlite:netmon.sqlite"\n`, "f").sqlite, "netmon.sqlite");
  assert.deepEqual(parseConfig("", "f").fleet, {});
});

Deno.test("fleet config: each bad value is one line naming its key (exit 78)", () => {
  const cases: [string, RegExp][] = [
    [`store = "postgresql://u:secret@h/db"`, /^f: store: the URL holds a password: remove it/],
    [`store = "postgresql://h/db"`, /^f: store: name user, host and database/],
    [`store = "postgresql://u@h/db?sslmode=disable"`, /^f: store: options in the URL are not read/],
    [`store = "mysql://u@h/db"`, /^f: store: .*must be "sqlite:FILE" .* or "postgresql:/],
    [`host = "a b"`, /^f: host: "a b" must be 1 to 255 of/],
    [`host = 7`, /^f: host: must be a string/],
    [`[prometheus]\ntextfile = "netmon.prom"`, /^f: prometheus\.textfile: "netmon\.prom" must be an absolute path/],
    [`[prometheus]\ntextfile = "/tmp/netmon.txt"`, /^f: prometheus\.textfile: .* must end in \.prom/],
    [`[prometheus]\ntextfile = "/tmp/$(x).prom"`, /^f: prometheus\.textfile: .* may hold only/],
    [`[prometheus]\ntextfile = "/tmp/a.prom"\nfile = "/tmp/a.prom"`, /^f: prometheus\.file: unknown key/],
    [`[prometheus]`, /^f: prometheus\.textfile: is missing/],
    [`prometheus = "x"`, /^f: prometheus: must be a table/],
    [`store = "${URL_OK}"\n[postgresql]\nsslmode = "prefer"`, /^f: postgresql\.sslmode: "prefer" is not one of/],
    [`store = "${URL_OK}"\n[postgresql]\npassword_file = "pw"`, /^f: postgresql\.password_file: "pw" must be an abs/],
    [
      `store = "${URL_OK}"\n[postgresql]\nsslmode = "disable"\nca_file = "/ca.pem"`,
      /^f: postgresql\.ca_file: is not used/,
    ],
    [
      `store = "${URL_OK}"\n[postgresql]\nsslmode = "verify-ca"`,
      /^f: postgresql\.sslmode: "verify-ca" needs ca_file, .*: give ca_file, or use "verify-full"$/,
    ],
    [`store = "${URL_OK}"\n[postgresql]\npassword = "x"`, /^f: postgresql\.password: unknown key/],
    [`[postgresql]\nsslmode = "require"`, /^f: postgresql: applies to a PostgreSQL store/],
  ];
  for (const [text, want] of cases) {
    assert.throws(() => parseConfig(text + "\n", "f"), (e) => {
      assert.ok(e instanceof ConfigError, text);
      assert.equal(e.exitCode, 78);
      assert.equal(e.message.split("\n").length, 1, e.message);
      assert.match(e.message, want);
      assert.ok(!e.message.includes("secret"), e.message);
      return true;
    });
  }
});

const stamp = (i: number) => `2024/03/01-10:${String(i).padStart(2, "0")}:00`;
/** Counters with a reset of "a" at step 3 and of both at step 6; "c" appears at step 4. */
const STEPS: [string, bigint][][] = [
  [["a", 100n], ["b", 5n]],
  [["a", 300n], ["b", 5n]],
  [["a", 350n], ["b", 9n]],
  [["a", 20n], ["b", 12n]],
  [["a", 70n], ["b", 20n], ["c", 1n]],
  [["a", 90n], ["b", 2n ** 64n - 1n], ["c", 3n]],
  [["a", 1n], ["b", 4n], ["c", 0n]],
];

async function record(files: ReturnType<typeof stateFiles>, i: number): Promise<void> {
  const counters = new Map(STEPS[i]);
  await recordSample(files, {
    readCounters: () => Promise.resolve({ bytes: counters }),
    now: () => stamp(i),
    besideLast: async (step) => [
      (await prepareTotals(files.dir, files.log, step.previous, step.sample, step.warnings)).file,
    ],
  });
}

Deno.test("fleet totals: netmon.totals follows every sample through resets and equals the log's totals", async () => {
  await withTempDir(async (dir) => {
    const files = stateFiles(dir);
    const samples: Sample[] = STEPS.map((s, i) => ({ timestamp: stamp(i), counters: new Map(s) }));
    for (let i = 0; i < STEPS.length; i++) {
      await record(files, i);
      const onDisk = totalsAt(parseOffsets(await Deno.readTextFile(totalsPath(dir)), "t"), samples[i]!);
      assert.deepEqual(onDisk, totalsOfSamples(samples.slice(0, i + 1)));
      assert.deepEqual(onDisk, await totalsOfLog(files.log));
      assert.equal((await Deno.stat(totalsPath(dir))).mtime!.getTime() / 1000, markOf(stamp(i)), "kept up to it");
    }
    const t = totalsAt(parseOffsets(await Deno.readTextFile(totalsPath(dir)), "t"), samples.at(-1)!);
    // a: 200 + 50 + 20 (reset) + 50 + 20 + 1 (reset) = 341
    assert.equal(t.columns.get("a")?.total, 341n);
    assert.deepEqual(t.columns.get("a")?.resets, new Map([["counter_went_down", 2n]]));
    assert.equal(t.columns.get("b")?.total, 2n ** 64n - 1n - 5n + 4n);
    assert.equal((await Deno.stat(totalsPath(dir))).mode! & 0o777, 0o640);
  });
});

Deno.test("fleet totals: a missing, stale or damaged netmon.totals is rebuilt from the log, with a warning", async () => {
  await withTempDir(async (dir) => {
    const files = stateFiles(dir);
    for (let i = 0; i < 3; i++) await record(files, i);
    const kept = await Deno.readTextFile(totalsPath(dir));
    const keptMark = (await Deno.stat(totalsPath(dir))).mtime!;
    await record(files, 3);
    // A crash between the log append and the commit leaves the totals one sample behind.
    await Deno.writeTextFile(totalsPath(dir), kept);
    await Deno.utime(totalsPath(dir), keptMark, keptMark);
    const warnings: string[] = [];
    const sample: Sample = { timestamp: stamp(4), counters: new Map(STEPS[4]) };
    const previous: Sample = { timestamp: stamp(3), counters: new Map(STEPS[3]) };
    const p = await prepareTotals(dir, files.log, previous, sample, warnings);
    p.file.abandon();
    assert.match(warnings.join("\n"), /was of 2024\/03\/01-10:02:00, not the last sample .*rebuilt from the log/);
    const expected = totalsOfSamples(STEPS.slice(0, 5).map((s, i) => ({ timestamp: stamp(i), counters: new Map(s) })));
    assert.deepEqual(totalsAt(p.offsets, sample), expected);
    // A file of version 1 (before reset reasons) is rebuilt without a warning: nothing is wrong.
    await Deno.writeTextFile(totalsPath(dir), "# netmon totals 1\nstamp\t2024/03/01-10:04:00\ncolumn\ta\t1\t1\t0\t0\n");
    const w1: string[] = [];
    const p1 = await prepareTotals(dir, files.log, previous, sample, w1);
    p1.file.abandon();
    assert.deepEqual([w1, totalsAt(p1.offsets, sample)], [[], expected]);
    await Deno.writeTextFile(totalsPath(dir), "# netmon totals 2\nstamp\tnot a stamp\n");
    const w2: string[] = [];
    const p2 = await prepareTotals(dir, files.log, previous, sample, w2);
    p2.file.abandon();
    assert.match(w2.join("\n"), /netmon\.totals:2: expected "stamp.*rebuilt from the log/);
    assert.deepEqual(totalsAt(p2.offsets, sample), expected);
    await Deno.remove(totalsPath(dir));
    const p3 = await prepareTotals(dir, files.log, previous, sample, []);
    p3.file.abandon();
    assert.deepEqual(totalsAt(p3.offsets, sample), expected);
    // Nothing was left behind by the abandoned replacements.
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => n.endsWith(".tmp")), []);
  });
});

Deno.test("fleet totals: an append that fails abandons netmon.totals with netmon.last", async () => {
  await withTempDir(async (dir) => {
    const files = stateFiles(dir);
    await record(files, 0);
    const before = await Deno.readTextFile(totalsPath(dir));
    const log = await Deno.readTextFile(files.log);
    // An immutable log (chattr +i, which binds root too): it reads, but the append fails after both
    // replacements were prepared.
    const chattr = await new Deno.Command("chattr", { args: ["+i", files.log], stderr: "null" }).output();
    if (!chattr.success) return; // a file system without attributes: nothing to check here
    try {
      await assert.rejects(() => record(files, 1), /Cannot (create|write) log .*permission denied/);
    } finally {
      await new Deno.Command("chattr", { args: ["-i", files.log] }).output();
    }
    assert.equal(await Deno.readTextFile(totalsPath(dir)), before);
    assert.equal(await Deno.readTextFile(files.log), log);
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => n.endsWith(".tmp")), []);
  });
});
