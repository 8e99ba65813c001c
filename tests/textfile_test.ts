/**
 * The Prometheus textfile: its text (pure), checked by the real promtool,
 * served by a real node_exporter's textfile collector, and scraped by a real
 * Prometheus whose `increase()` over the reset-corrected total sees a reset
 * that the raw counter hides.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  columnLabels,
  escapeLabelValue,
  labelsText,
  labelTexts,
  NO_LABELS,
  sampleTextfile,
  textfileOutput,
  writeTextfile,
} from "../lib/outputs/textfile.ts";
import { stateFiles } from "../lib/state/files.ts";
import { recordSample } from "../lib/state/record.ts";
import { totalsOfLog } from "../lib/state/totals_file.ts";
import { formatTextfile, type TextfileInput } from "../lib/outputs/textfile_format.ts";
import { parseConfig } from "../lib/config/config.ts";
import type { Sample } from "../lib/state/log_format.ts";
import { nextTotals, offsetsOfTotals, type Totals } from "../lib/usage/running_totals.ts";
import {
  listeningAddresses,
  prometheusUnavailable,
  promtoolCheckMetrics,
  startNodeExporter,
  startPrometheus,
} from "./prometheus_harness.ts";
import { netmon } from "./helpers.ts";

const unavailable = prometheusUnavailable();
const BIG = (1n << 64n) - 1n;

function input(over: Partial<TextfileInput> = {}): TextfileInput {
  return {
    columns: [
      { column: "proxy", meter: "proxy", direction: "in", family: "ipv4", total: BIG, counter: BIG - 1n },
      { column: 'we"ird\\na\nme', total: 0n, counter: 0n },
    ],
    resets: [{ column: "proxy", reason: "counter_went_down", count: 3n }],
    lastSampleSeconds: 1267088400,
    reportDurationSeconds: 0.0215,
    cycles: [
      {
        customer: "acme",
        cycleStart: 1267056000,
        usage: [{ direction: "in", bytes: 123n }, { direction: "out", bytes: 7n }],
        quota: { bytes: 1000n, count: "in" },
      },
      { customer: 'b\\"lue\nbox', cycleStart: 1267142400, usage: [{ direction: "both", bytes: BIG }] },
    ],
    ...over,
  };
}

Deno.test("textfile: label values escape backslash, quote and newline, nothing else", () => {
  assert.equal(escapeLabelValue('a\\b"c\nd\te'), 'a\\\\b\\"c\\nd\te');
  assert.deepEqual(["\\", '"', "\n", "proxy-v4"].map(escapeLabelValue), ["\\\\", '\\"', "\\n", "proxy-v4"]);
});

Deno.test("textfile: each column's meter, direction and family labels, for plain and split meters", () => {
  const config = parseConfig(
    `source = "nftables"
[[meter]]
name = "plain4"
from = "192.0.2.1"
[[meter]]
name = "both"
address = ["192.0.2.32/28", "2001:db8:2::/48"]
[[meter]]
name = "cust"
address = ["192.0.2.0/28", "2001:db8:1::/48"]
split = "direction"
[[meter]]
name = "box"
direction = "in"
split = "family"
[[meter]]
name = "web"
address = "2001:db8::80"
direction = "out"
`,
    "labels.toml",
  );
  assert.deepEqual(
    [...columnLabels(config.meters)],
    [
      ["plain4", { meter: "plain4", family: "ipv4" }],
      ["both", { meter: "both" }],
      ["cust-inbound", { meter: "cust", direction: "in" }],
      ["cust-outbound", { meter: "cust", direction: "out" }],
      ["box-v4", { meter: "box", direction: "in", family: "ipv4" }],
      ["box-v6", { meter: "box", direction: "in", family: "ipv6" }],
      ["web", { meter: "web", direction: "out", family: "ipv6" }],
    ],
  );
  // As the report writes them, after the column label: the same labels (a common meter's are made apart, quicker).
  const texts = labelTexts(config.meters);
  const written = texts.columns.map((c, i) => [c, `,meter="${texts.meters[i]}"${texts.rest[i]}`]);
  assert.deepEqual(written, columnLabels(config.meters).map(([c, l]) => [c, labelsText(l)]));
  assert.deepEqual(written.slice(2, 5), [
    ["cust-inbound", ',meter="cust",direction="in"'],
    ["cust-outbound", ',meter="cust",direction="out"'],
    ["box-v4", ',meter="box",direction="in",family="ipv4"'],
  ]);
  // A meter's one column of its own name makes no string of its own.
  assert.equal(texts.meters[0], config.meters[0]!.name);
  assert.deepEqual(texts.rest.slice(0, 2), [',family="ipv4"', ""]);
});

Deno.test("textfile: every family has HELP and TYPE once, values are exact up to 2^64-1", () => {
  const text = formatTextfile(input());
  assert.match(
    text,
    /^netmon_traffic_bytes_total\{column="proxy",meter="proxy",direction="in",family="ipv4"\} 18446744073709551615$/m,
  );
  assert.match(text, /^netmon_raw_bytes\{column="proxy"\} 18446744073709551614$/m);
  assert.match(text, /^netmon_traffic_bytes_total\{column="we\\"ird\\\\na\\nme"\} 0$/m);
  assert.match(text, /^netmon_resets_total\{column="proxy",reason="counter_went_down"\} 3$/m);
  assert.match(text, /^netmon_cycle_usage_bytes\{customer="acme",direction="in"\} 123$/m);
  assert.match(text, /^netmon_cycle_usage_bytes\{customer="acme",direction="out"\} 7$/m);
  assert.match(
    text,
    /^netmon_cycle_usage_bytes\{customer="b\\\\\\"lue\\nbox",direction="both"\} 18446744073709551615$/m,
  );
  assert.match(text, /^netmon_quota_bytes\{customer="acme",count="in"\} 1000$/m);
  assert.equal(text.match(/^netmon_quota_bytes\{/gm)?.length, 1, "no quota line for a customer without one");
  assert.match(text, /^netmon_cycle_start_timestamp_seconds\{customer="acme"\} 1267056000$/m);
  assert.match(text, /^netmon_cycle_start_timestamp_seconds\{customer="b\\\\\\"lue\\nbox"\} 1267142400$/m);
  assert.match(text, /^netmon_report_duration_seconds 0.0215$/m);
  for (
    const name of [
      "netmon_traffic_bytes_total counter",
      "netmon_raw_bytes gauge",
      "netmon_resets_total counter",
      "netmon_last_sample_timestamp_seconds gauge",
      "netmon_report_duration_seconds gauge",
      "netmon_cycle_usage_bytes gauge",
      "netmon_quota_bytes gauge",
      "netmon_cycle_start_timestamp_seconds gauge",
    ]
  ) {
    assert.equal(text.split("\n").filter((l) => l === `# TYPE ${name}`).length, 1, name);
  }
  assert.ok(text.endsWith("\n"));
});

Deno.test("textfile: without cycles or resets those families are left out, not empty", () => {
  const text = formatTextfile(input({ cycles: undefined as never, resets: [] }));
  assert.doesNotMatch(text, /cycle|quota|resets_total/);
});

Deno.test("textfile: a duplicated column, a negative count or a non-finite time is refused", () => {
  const c = input().columns[0]!;
  assert.throws(() => formatTextfile(input({ columns: [c, c] })), /column "proxy" appears twice/);
  assert.throws(() => formatTextfile(input({ columns: [{ ...c, total: -1n }] })), /is negative/);
  assert.throws(() => formatTextfile(input({ reportDurationSeconds: NaN })), /not a finite number/);
  const acme = input().cycles![0]!;
  assert.throws(() => formatTextfile(input({ cycles: [acme, acme] })), /customer "acme" appears twice/);
  const twice = { ...acme, usage: [{ direction: "in" as const, bytes: 1n }, { direction: "in" as const, bytes: 2n }] };
  assert.throws(() => formatTextfile(input({ cycles: [twice] })), /direction \["acme","in"\] appears twice/);
});

Deno.test({
  name: "textfile: promtool check metrics is clean on the output",
  ignore: unavailable !== undefined,
  async fn() {
    const r = await promtoolCheckMetrics(formatTextfile(input()));
    assert.equal(r.output, "");
    assert.equal(r.code, 0);
    // With every reason of issue 17 as netmon labels them, from the running totals.
    let last: Sample = { timestamp: "2024/03/01-10:00:00", counters: new Map([["a", 9n], ["b", 9n]]) };
    let t = nextTotals(undefined, last);
    const reasons = ["reboot", "interface re-created", "counter re-created", "rules re-created", "packets went down"];
    for (const [i, why] of reasons.entries()) {
      last = {
        timestamp: `2024/03/01-10:0${i + 1}:00`,
        counters: new Map([["a", BigInt(10 + i)], ["b", BigInt(8 - i)]]),
      };
      t = nextTotals(t, last, new Map([["a", why]]));
    }
    let text = "";
    sampleTextfile({ sample: last, epoch: 0 }, offsetsOfTotals(t), NO_LABELS, 0.01, "", (piece) => (text += piece));
    assert.deepEqual(
      [...text.matchAll(/^netmon_resets_total\{column="(\w)",reason="(\w+)"\} (\d+)$/gm)].map((m) =>
        m.slice(1).join(" ")
      ),
      [
        "a reboot 1",
        "a interface_recreated 1",
        "a counter_recreated 1",
        "a rules_recreated 1",
        "a packets_went_down 1",
        "b counter_went_down 5",
      ],
    );
    const withReasons = await promtoolCheckMetrics(text);
    assert.deepEqual([withReasons.code, withReasons.output], [0, ""]);
    // The check can fail: a counter without _total is reported.
    const bad = await promtoolCheckMetrics("# HELP x_bytes a\n# TYPE x_bytes counter\nx_bytes 1\n");
    assert.notEqual(bad.code, 0);
  },
});

Deno.test("textfile: a report's textfile of 700 columns, written in pieces, is exactly its figures' text", async () => {
  const names = Array.from({ length: 700 }, (_, i) => (i === 5 ? 'odd"name' : `m${i}`));
  const counters = new Map(names.map((c, i) => [c, (1n << 60n) + BigInt(i) * 1_000_003n]));
  const sample: Sample = { timestamp: "2024/03/01-10:05:00", counters };
  // Offsets laid out as the sample but for two columns swapped (those are found by name), plus one no longer read;
  // resets on two columns, one with a reason of a hand-written reset line.
  const columns = [...names, "gone"];
  [columns[10], columns[11]] = [columns[11]!, columns[10]!];
  const offset = (c: string) => BigInt(c.length) * 7n - 3n;
  const resets = new Map([["m3", new Map([["reboot", 2n], ["counter_went_down", 1n]])], [
    "m600",
    new Map([["weird", 1n]]),
  ]]);
  const offsets = {
    stamp: "2024/03/01-10:00:00",
    columns,
    offsets: columns.map(offset),
    resets: columns.map((c) => resets.get(c) ?? new Map<string, bigint>()),
  };
  // Labels in config order but for column 7, which has none (the rest are then found by name).
  const labelOf = new Map(
    names.filter((_, i) => i !== 7).map((c, i) => [c, { meter: c, family: `ipv${i % 2 ? 4 : 6}` }]),
  );
  const labels = {
    columns: [...labelOf.keys()],
    meters: [...labelOf.values()].map((l) => escapeLabelValue(l.meter)),
    rest: [...labelOf.values()].map((l) => `,family="${l.family}"`),
  };
  let text = "";
  let pieces = 0;
  const epoch = Date.UTC(2024, 2, 1, 9, 0, 0, 500);
  sampleTextfile({ sample, epoch }, offsets, labels, 0.5, "", (piece) => {
    text += piece;
    pieces++;
  });
  assert.ok(pieces > 2, `${pieces} pieces`);
  const expected = formatTextfile({
    columns: names.map((c) => ({
      column: c,
      ...labelOf.get(c),
      total: counters.get(c)! + offset(c),
      counter: counters.get(c)!,
    })),
    resets: [
      { column: "m3", reason: "counter_went_down", count: 1n },
      { column: "m3", reason: "reboot", count: 2n },
      { column: "m600", reason: "weird", count: 1n },
    ],
    lastSampleSeconds: Math.floor(epoch / 1000), // the instant the sample was taken, not its stamp read again
    reportDurationSeconds: 0.5,
  });
  assert.equal(text, expected);
  assert.match(text, /^netmon_traffic_bytes_total\{column="odd\\"name",meter="odd\\"name",family="ipv4"\} \d+$/m);
  assert.doesNotMatch(text, /gone/);
  // Written a piece at a time, the file is the same text.
  const dir = await Deno.makeTempDir({ prefix: "netmon-textfile-test-" });
  try {
    writeTextfile(`${dir}/netmon.prom`, (emit) => sampleTextfile({ sample, epoch }, offsets, labels, 0.5, "", emit));
    assert.equal(await Deno.readTextFile(`${dir}/netmon.prom`), text);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("textfile: an output of 1,000 meters (netmon.totals read as it is set up) writes the log's totals", async () => {
  const dir = await Deno.makeTempDir({ prefix: "netmon-textfile-test-" });
  try {
    let toml = 'source = "iptables"\n';
    for (let i = 0; i < 1000; i++) toml += `[[meter]]\nname = "m${i}"\nfrom = "192.0.2.${i % 250}"\n`;
    const config = parseConfig(toml, `${dir}/netmon.toml`);
    const files = stateFiles(dir);
    const prom = `${dir}/netmon.prom`;
    // A report a sample, each with its own output; the third sample has a counter gone down.
    for (const [i, base] of [100n, 200n, 50n].entries()) {
      const output = textfileOutput(prom, files, config.meters);
      const counters = new Map(config.meters.map((m, j) => [m.name, base + (j === 7 ? 0n : BigInt(j))]));
      await recordSample(files, {
        readCounters: () => Promise.resolve({ bytes: counters }),
        now: () => `2024/03/01-10:0${i}:00`,
        besideLast: async (step) => (await output.beforeAppend?.(step)) ?? [],
        onRecorded: (r) => output.recorded?.(r),
      });
    }
    const totals = (await totalsOfLog(files.log))!;
    const text = await Deno.readTextFile(prom);
    for (const column of ["m0", "m7", "m999"]) {
      const m = new RegExp(`^netmon_traffic_bytes_total\\{column="${column}",[^}]*\\} (\\d+)$`, "m").exec(text);
      assert.equal(m?.[1], String(totals.columns.get(column)!.total), column);
    }
    assert.equal(totals.columns.get("m7")!.total, 100n + 50n);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("textfile: a column netmon.totals (kept up to the last sample) never had is not looked for in the log", async () => {
  const dir = await Deno.makeTempDir({ prefix: "netmon-textfile-test-" });
  try {
    const files = stateFiles(dir);
    const prom = `${dir}/netmon.prom`;
    const meter = (name: string, i: number) => `[[meter]]\nname = "${name}"\nfrom = "192.0.2.${i + 1}"\n`;
    const seen: (ReadonlyMap<string, bigint> | undefined)[] = [];
    const report = async (stamp: string, counters: Record<string, bigint>) => {
      const names = Object.keys(counters);
      const config = parseConfig(`source = "iptables"\n${names.map(meter).join("")}`, `${dir}/netmon.toml`);
      const output = textfileOutput(prom, files, config.meters);
      await recordSample(files, {
        readCounters: () => Promise.resolve({ bytes: new Map(Object.entries(counters)) }),
        now: () => stamp,
        besideLast: async (step) => {
          seen.push(step.lastLogged);
          return (await output.beforeAppend?.(step)) ?? [];
        },
        onRecorded: (r) => output.recorded?.(r),
      });
    };
    await report("2024/03/01-10:00:00", { a: 10n, c: 70n });
    await report("2024/03/01-10:05:00", { a: 20n }); // c out of the config: netmon.totals keeps it, no longer read
    // d in the log's first lines (put there by hand): netmon.totals, kept up to the last sample, knows better.
    const log = await Deno.readTextFile(files.log);
    await Deno.writeTextFile(files.log, `# netmon meters:\ta\td\n2024/02/29-10:00:00\t1\t1000\n${log}`);
    await report("2024/03/01-10:10:00", { a: 30n, c: 90n, d: 1500n });
    // c comes back from its last value in the log; d is new, and counts from its first value.
    assert.deepEqual(seen, [undefined, undefined, new Map([["c", 70n]])]);
    assert.match(await Deno.readTextFile(prom), /^netmon_traffic_bytes_total\{column="d",[^}]*\} 0$/m);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "textfile: writeTextfile replaces atomically with mode 0644 and refuses a directory",
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "netmon-textfile-test-" });
    try {
      const path = `${dir}/netmon.prom`;
      writeTextfile(path, "a 1\n");
      writeTextfile(path, "a 2\n");
      assert.equal(await Deno.readTextFile(path), "a 2\n");
      assert.equal((await Deno.stat(path)).mode! & 0o777, 0o644);
      assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["netmon.prom"]);
      // A killed run's temporary (an hour old) goes; a fresh one (a run writing it now) and other files' stay.
      const [old, fresh, other] = [".netmon.prom.0a1b2c.tmp", ".netmon.prom.3d4e5f.tmp", ".other.prom.0a1b2c.tmp"];
      for (const name of [old, fresh, other]) await Deno.writeTextFile(`${dir}/${name}`, "half");
      const hourAgo = new Date(Date.now() - 3_601_000);
      for (const name of [old, other]) await Deno.utime(`${dir}/${name}`, hourAgo, hourAgo);
      writeTextfile(path, "a 3\n");
      assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name).sort(), [fresh, other, "netmon.prom"]);
      await Deno.mkdir(`${dir}/d.prom`);
      assert.throws(() => writeTextfile(`${dir}/d.prom`, "a 1\n"), /not a regular file/);
      assert.throws(() => writeTextfile(`${dir}/missing/x.prom`, "a 1\n"), /parent directory does not exist/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

/** Counters through a reset that leaves the raw counter higher than before: only the total shows it. */
const STEPS: bigint[] = [1_000n, 5_000n, 9_000n, /* reset, then counted 12 kB */ 12_000n, 14_000n];
const RESET_AT = 3;

Deno.test({
  name: "textfile: node_exporter serves the file, and Prometheus' increase() over the total counts a hidden reset",
  ignore: unavailable !== undefined,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using ne = await startNodeExporter();
    assert.deepEqual(await listeningAddresses(ne.pid), [new URL(ne.url).host]);
    await using prom = await startPrometheus(new URL(ne.url).host);
    const addrs = await listeningAddresses(prom.pid);
    assert.ok(addrs.length > 0 && addrs.every((a) => a.startsWith("127.0.0.1:")), `Prometheus listens on ${addrs}`);
    const path = `${ne.textfileDir}/netmon.prom`;
    let totals: Totals | undefined;
    const seen: bigint[] = [];
    const times: number[] = [];
    for (let i = 0; i < STEPS.length; i++) {
      totals = nextTotals(
        totals,
        { timestamp: `2024/03/01-10:0${i}:00`, counters: new Map([["proxy", STEPS[i]!]]) },
        i === RESET_AT ? new Map([["proxy", "rules re-created"]]) : new Map(),
      );
      const col = totals.columns.get("proxy")!;
      writeTextfile(
        path,
        formatTextfile({
          columns: [{ column: "proxy", total: col.total, counter: col.counter! }],
          resets: [{ column: "proxy", reason: "rules_recreated", count: col.resets.get("rules_recreated") ?? 0n }],
          lastSampleSeconds: Date.now() / 1000,
          reportDurationSeconds: 0.01,
        }),
      );
      // node_exporter serves exactly what was written, and the total never went down.
      const scraped = await ne.scrape();
      const m = /^netmon_traffic_bytes_total\{column="proxy"\} (\S+)$/m.exec(scraped);
      assert.ok(m, scraped);
      const served = BigInt(Number(m[1]));
      assert.equal(served, col.total);
      if (seen.length) assert.ok(served >= seen.at(-1)!);
      seen.push(served);
      assert.match(scraped, /^node_textfile_scrape_error 0$/m);
      const resets = /^netmon_resets_total\{column="proxy",reason="rules_recreated"\} (\S+)$/m.exec(scraped);
      assert.equal(resets?.[1], i >= RESET_AT ? "1" : "0", "the reset served with its reason");
      // Hold each value for several scrapes, so every step is in Prometheus.
      await prom.waitFor(`netmon_traffic_bytes_total{column="proxy"}`, (r) => r[0]?.value[1] === String(col.total));
      times.push(Date.now() / 1000);
      await new Promise((r) => setTimeout(r, 3000));
    }
    // netmon's usage from the first step to the last: 4000 + 4000 + 12000 (since the reset) + 2000.
    const usage = seen.at(-1)! - seen[0]!;
    assert.equal(usage, 22_000n);
    const end = Date.now() / 1000;
    const window = Math.ceil(end - times[0]! + 0.5);
    const [inc] = await prom.query(`increase(netmon_traffic_bytes_total{column="proxy"}[${window}s])`, end);
    const [raw] = await prom.query(`increase(netmon_raw_bytes{column="proxy"}[${window}s])`, end);
    const got = Number(inc!.value[1]);
    // Prometheus extrapolates to the window's edges: never below the true increase, and at most by the
    // share of the window before the first scrape in it (up to ~1.1 s at a 1 s interval, and the
    // first step's value was held from before the window).
    assert.ok(got >= Number(usage) - 1e-6, `increase ${got} < netmon's ${usage}`);
    assert.ok(got <= Number(usage) * window / (window - 2.2), `increase ${got} too far above ${usage} over ${window}s`);
    // The raw counter went from 9000 to 12000 at the reset: Prometheus cannot see it and counts 13000.
    assert.ok(Number(raw!.value[1]) < 14_500, `raw increase ${raw!.value[1]}`);
  },
});

Deno.test("textfile: a report not allowed the textfile's directory names that directory in both flags", async () => {
  const dir = await Deno.makeTempDir({ prefix: "netmon-textfile-test-" });
  try {
    const prom = `${dir}/prom`;
    await Deno.mkdir(prom);
    await Deno.writeTextFile(
      `${dir}/netmon.toml`,
      `source = "interface"\ninterfaces = ["lo"]\n[prometheus]\ntextfile = "${prom}/netmon.prom"\n`,
    );
    const run = (read: string[], write = read) =>
      netmon(["-c", `${dir}/netmon.toml`, "-s", `${dir}/state`, "report"], {
        permissions: [
          "--allow-run=/usr/sbin/ip,/usr/bin/stat",
          `--allow-read=${[`${dir}/netmon.toml`, `${dir}/state`, ...read].join(",")}`,
          `--allow-write=${[`${dir}/state`, ...write].join(",")}`,
          "--allow-env=NETMON_CONFIG,NETMON_STATE_DIR,XDG_STATE_HOME,HOME",
          "--allow-sys=uid,osUptime",
        ],
      });
    // Without the directory: the sample is logged, and the one line names the directory (where the textfile's
    // temporary file is made), not the file, for both flags: granting the file alone would fail again.
    const denied = await run([]);
    assert.equal(denied.code, 77, denied.stderr);
    assert.equal(
      denied.stderr.trim(),
      `netmon: Deno denied read access to ${prom}/netmon.prom: the textfile is replaced through a temporary file ` +
        `in its directory, which both lists need: --allow-read=…,${prom} --allow-write=…,${prom} (… the paths the ` +
        "permission set has, since a flag replaces its list: 'netmon schedule' prints the whole line)",
    );
    assert.equal((await Deno.readTextFile(`${dir}/state/netmon.log`)).trim().split("\n").length, 2);
    // The file allowed, not its directory: the same advice, naming the directory the temporary file is refused in.
    const fileOnly = await run([`${prom}/netmon.prom`]);
    assert.equal(fileOnly.code, 77, fileOnly.stderr);
    assert.equal(
      fileOnly.stderr.trim(),
      `netmon: Deno denied write access to ${prom}: the textfile is replaced through a temporary file in its ` +
        `directory, which both lists need: --allow-read=…,${prom} --allow-write=…,${prom} (… the paths the ` +
        "permission set has, since a flag replaces its list: 'netmon schedule' prints the whole line)",
    );
    // With the directory added to both lists, as the line says, it is written.
    const allowed = await run([prom]);
    assert.equal(allowed.code, 0, allowed.stderr);
    assert.match(await Deno.readTextFile(`${prom}/netmon.prom`), /^netmon_traffic_bytes_total\{column="lo:rx"\} \d+$/m);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
