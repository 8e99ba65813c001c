/**
 * The Prometheus textfile's per-customer billing-cycle metrics: taken from
 * the cycle tally the report keeps (never from the log), equal to the usage
 * engine's open cycle, left out when the tally is not of the sample; and end
 * to end, real reports in a namespace across a cycle start, served by a real
 * node_exporter, scraped values equal to `netmon summary --by cycle`, the
 * quota ratio queried from a real Prometheus as the README writes it.
 *
 * @module
 */
// deno-lint-ignore-file no-console

import assert from "node:assert/strict";
import { parseConfig } from "../lib/config/config.ts";
import { alertsOutput } from "../lib/outputs/alerts.ts";
import { matchCustomers, tallyPlan, type Watched, watchedCustomers } from "../lib/usage/cycle_customers.ts";
import type { SampleOutput } from "../lib/outputs/output.ts";
import { cycleFigures, recordedCycles } from "../lib/outputs/textfile_cycles.ts";
import { textfileOutput } from "../lib/outputs/textfile.ts";
import { stateFiles } from "../lib/state/files.ts";
import { recordSample } from "../lib/state/record.ts";
import { tallyPath } from "../lib/state/tally_file.ts";
import { calendar } from "../lib/usage/calendar.ts";
import { rollUp } from "../lib/usage/customers.ts";
import { advanceTally } from "../lib/usage/cycle_tally.ts";
import { usageByBucket } from "../lib/usage/engine.ts";
import { formatTimestamp } from "../lib/usage/local_time.ts";
import { linesOfFile, samplesOf } from "../lib/usage/log_samples.ts";
import { zoneNamed } from "../lib/usage/zone.ts";
import { named, netmon, type NetmonRun, netnsTest, sendUdp, withPair, withTempDir } from "./helpers.ts";
import { TEST_BOOT_TIME } from "../lib/host/boot.ts";
import {
  prometheusUnavailable,
  promtoolCheckMetrics,
  startNodeExporter,
  startPrometheus,
} from "./prometheus_harness.ts";
import { seededRandom } from "./random.ts";

/** The cycle series of a textfile or a scrape, as `name{labels} value` lines, sorted. */
function cycleLines(text: string): string[] {
  return text.split("\n").filter((l) =>
    /^netmon_(cycle_usage_bytes|quota_bytes|cycle_start_timestamp_seconds)\{/.test(l)
  )
    .sort();
}

/** Unescapes a label value as the exposition format writes it. */
const unescape = (v: string) => v.replace(/\\(.)/g, (_, c) => (c === "n" ? "\n" : c));

/** The cycle metrics of a text: per customer, usage by direction, quota (with count), cycle start. */
function parseCycles(text: string) {
  const out = new Map<string, { usage: Map<string, bigint>; quota?: [string, bigint]; start?: number }>();
  const get = (c: string) => {
    let x = out.get(c);
    if (!x) out.set(c, x = { usage: new Map() });
    return x;
  };
  for (const line of cycleLines(text)) {
    // Labels in any order (node_exporter sorts them by name).
    const m = /^(\w+)\{((?:\w+="(?:[^"\\]|\\.)*",?)+)\} (\S+)$/.exec(line);
    assert.ok(m, line);
    const [, name, set, value] = m as unknown as [string, string, string, string];
    const labels = new Map([...set.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1]!, unescape(l[2]!)]));
    const c = get(labels.get("customer")!);
    // node_exporter serves values as floats (1.048576e+06): exact below 2^53, as these are.
    const n = BigInt(Number(value));
    if (name === "netmon_cycle_usage_bytes") c.usage.set(labels.get("direction")!, n);
    else if (name === "netmon_quota_bytes") c.quota = [labels.get("count")!, n];
    else c.start = Number(value);
    assert.equal(labels.size, name === "netmon_cycle_start_timestamp_seconds" ? 1 : 2, line);
  }
  return out;
}

Deno.test("textfile cycles: a customer's figures are its tally's, per direction it has columns of, with its quota", () => {
  const config = parseConfig(
    `source = "interface"\n[prometheus]\ntextfile = "/tmp/x.prom"\n[billing]\ncycle_day = 5\ntimezone = "UTC"\n` +
      `[[customer]]\nname = "acme"\nmeters = ["eth0"]\nquota = "1 KiB"\ncount = "out"\n` +
      `[[customer]]\nname = "both"\nmeters = ["tun0", "eth0:rx"]\n` +
      `[[customer]]\nname = "idle"\nmeters = ["tun0"]\n`,
    "netmon.toml",
  );
  // tun0 has no direction (not an rx/tx column): "both".
  const columns = named(["eth0:rx", "eth0:tx", "tun0"]);
  const watched = matchCustomers(config.customers, columns, "netmon.toml");
  const plan = tallyPlan(config.customers, watchedCustomers(config.customers, columns, "netmon.toml"));
  const at = Date.UTC(2026, 2, 4, 23, 55);
  let t = advanceTally(undefined, plan, { epoch: at, counters: new Map([["eth0:rx", 0n], ["eth0:tx", 0n]]) });
  t = advanceTally(t, plan, {
    epoch: at + 600_000,
    counters: new Map([["eth0:rx", 1000n], ["eth0:tx", 3000n], ["tun0", 7n]]),
  });
  const start = Date.UTC(2026, 2, 5) / 1000;
  assert.deepEqual(cycleFigures(t, watched), [
    {
      customer: "acme",
      cycleStart: start,
      // Half of the interval is after the cycle's start.
      usage: [{ direction: "in", bytes: 500n }, { direction: "out", bytes: 1500n }],
      quota: { bytes: 1024n, count: "out" },
    },
    // tun0 first appears in this sample: it counts from here.
    {
      customer: "both",
      cycleStart: start,
      usage: [{ direction: "in", bytes: 500n }, { direction: "both", bytes: 0n }],
    },
    { customer: "idle", cycleStart: start, usage: [{ direction: "both", bytes: 0n }] },
  ]);
});

/** The engine's usage of each customer's current cycle from the log: what `netmon summary --by cycle` says. */
function engineCycles(log: string, watched: readonly Watched[]) {
  const out = new Map<string, { start: number; in: bigint; out: bigint; total: bigint }>();
  for (const w of watched) {
    const file = Deno.openSync(log);
    try {
      const cal = calendar("cycle", zoneNamed(w.spec.billing.timeZone), w.spec.billing.cycleDay);
      for (const b of usageByBucket(samplesOf(linesOfFile(file), log, () => {}), cal)) {
        const [u] = rollUp(b, [w.columns]);
        out.set(w.spec.name, {
          start: b.bucket.start / 1000,
          in: u!.inBytes ?? 0n,
          out: u!.outBytes ?? 0n,
          total: u!.totalBytes,
        });
      }
    } finally {
      file.close();
    }
  }
  return out;
}

Deno.test("textfile cycles: recorded sample by sample through cycle starts and resets, equal to the engine's cycles", async () => {
  const random = seededRandom("textfile cycles");
  await withTempDir(async (dir) => {
    const state = `${dir}/state`;
    const prom = `${dir}/netmon.prom`;
    const config = parseConfig(
      `source = "interface"\n[prometheus]\ntextfile = "${prom}"\n[billing]\ncycle_day = 1\ntimezone = "UTC"\n` +
        `[[customer]]\nname = "acme"\nmeters = ["eth0"]\nquota = "10 GiB"\n` +
        `[[customer]]\nname = 'west "\\ side'\nmeters = ["eth1:rx"]\ncycle_day = 15\ntimezone = "Europe/Berlin"\n` +
        `[[customer]]\nname = "box"\nmeters = ["*"]\nquota = "1 TiB"\ncount = "in"\n`,
      `${dir}/netmon.toml`,
    );
    const files = stateFiles(state);
    const outputs: SampleOutput[] = [
      alertsOutput(config, files, undefined)!,
      textfileOutput(prom, files, config.meters, { cycles: (r) => recordedCycles(config, files, r) }),
    ];
    const counters = new Map([["eth0:rx", 0n], ["eth0:tx", 0n], ["eth1:rx", 0n], ["eth1:tx", 0n]]);
    let epoch = Date.UTC(2026, 1, 27, 12);
    const record = () =>
      recordSample(files, {
        readCounters: () => Promise.resolve({ bytes: new Map(counters) }),
        now: () => formatTimestamp(new Date(epoch)),
        besideLast: async (s) => (await Promise.all(outputs.map((o) => o.beforeAppend?.(s) ?? []))).flat(),
        onRecorded: async (r) => {
          for (const o of outputs) await o.recorded?.(r);
        },
      });
    const watched = matchCustomers(config.customers, named([...counters.keys()]), "netmon.toml");
    for (let i = 0; i < 60; i++) {
      // Samples 1 to 3 hours apart for 2.5 to 7.5 days: across March 1st, acme's and box's cycle start (UTC).
      epoch += 3_600_000 * (1 + Math.floor(random() * 3));
      for (const [c, v] of counters) {
        counters.set(c, random() < 0.03 ? BigInt(Math.floor(random() * 1e6)) : v + BigInt(Math.floor(random() * 1e9)));
      }
      if (i === 30) await Deno.remove(tallyPath(files)); // lost: rebuilt from the log, same figures
      await record();
      const got = parseCycles(await Deno.readTextFile(prom));
      const want = engineCycles(files.log, watched);
      for (const w of watched) {
        const g = got.get(w.spec.name)!;
        const e = want.get(w.spec.name)!;
        assert.equal(g.start, e.start, `${w.spec.name} cycle start, sample ${i}`);
        assert.equal(g.usage.get("in"), e.in, `${w.spec.name} in, sample ${i}`);
        assert.equal(g.usage.get("out"), w.columns.out.length ? e.out : undefined, `${w.spec.name} out, sample ${i}`);
        assert.equal([...g.usage.values()].reduce((a, b) => a + b, 0n), e.total, `${w.spec.name} total, sample ${i}`);
      }
      assert.deepEqual(got.get("acme")!.quota, ["total", 10n << 30n]);
      assert.deepEqual(got.get("box")!.quota, ["in", 1n << 40n]);
      assert.equal(got.get('west "\\ side')!.quota, undefined);
    }
    // The tally not brought up to the sample (the alerts output failed this run): the cycle metrics are left out
    // rather than an older sample's shown as current; the rest is written.
    outputs.shift();
    epoch += 300_000;
    await record();
    const text = await Deno.readTextFile(prom);
    assert.deepEqual(cycleLines(text), []);
    assert.match(text, new RegExp(`^netmon_last_sample_timestamp_seconds ${epoch / 1000}$`, "m"));
  });
});

netnsTest(
  "textfile cycles: real reports across a cycle start, node_exporter serves what summary --by cycle says",
  async () => {
    const why = prometheusUnavailable();
    if (why) return console.warn(`skipped: ${why}`);
    await using ne = await startNodeExporter();
    await using prom = await startPrometheus(new URL(ne.url).host);
    await withPair((p) =>
      withTempDir(async (dir) => {
        const textfile = `${ne.textfileDir}/netmon.prom`;
        const config = `${dir}/netmon.toml`;
        await Deno.writeTextFile(
          config,
          `source = "interface"\ninterfaces = ["${p.va}"]\n[prometheus]\ntextfile = "${textfile}"\n` +
            `[billing]\ncycle_day = 1\ntimezone = "UTC"\n` +
            `[[customer]]\nname = "acme"\nmeters = ["${p.va}"]\nquota = "1 MiB"\n` +
            `[[customer]]\nname = 'we"st\\side'\nmeters = ["${p.va}:rx"]\nquota = "1 GiB"\ncount = "in"\n` +
            `cycle_day = 15\ntimezone = "Europe/Berlin"\n`,
          { mode: 0o600 },
        );
        const run = (args: string[], at: string): Promise<{ code: number; stdout: string; stderr: string }> => {
          const o: NetmonRun = {
            ns: p.a,
            permissions: [
              "--allow-run=/usr/sbin/ip,/usr/bin/stat",
              `--allow-read=${dir},${ne.textfileDir}`,
              `--allow-write=${dir},${ne.textfileDir}`,
              `--allow-env=NETMON_CONFIG,NETMON_STATE_DIR,XDG_STATE_HOME,HOME,${TEST_BOOT_TIME}`,
              "--allow-sys=uid,osUptime",
            ],
            env: { TZ: "UTC" },
            fakeTime: `@${at}`,
          };
          return netmon(["-c", config, "-s", `${dir}/state`, ...args], o);
        };
        const times = ["2025-03-31 23:40:00", "2025-03-31 23:55:00", "2025-04-01 00:05:00", "2025-04-01 00:20:00"];
        for (const [i, at] of times.entries()) {
          await sendUdp(p.b, "192.0.2.1", 20 + 10 * i, 700);
          const r = await run(["report"], at);
          assert.deepEqual([r.code, r.stderr], [0, ""], r.stderr);
          const scraped = await ne.scrape();
          assert.match(scraped, /^node_textfile_scrape_error 0$/m);
          const got = parseCycles(scraped);
          const s = await run(["summary", "--by", "cycle", "--json"], at);
          assert.equal(s.code, 0, s.stderr);
          const rows = (JSON.parse(s.stdout).rows as Record<string, unknown>[]).filter((row) =>
            row.kind === "customer"
          );
          for (const name of ["acme", 'we"st\\side']) {
            // The customer's current cycle: its last row.
            const row = rows.filter((x) => x.name === name).at(-1)!;
            const g = got.get(name)!;
            assert.ok(g, `${name} served: ${cycleLines(scraped).join("\n")}`);
            assert.equal(g.start, Date.parse(row.start as string) / 1000, `${name} cycle start at ${at}`);
            assert.equal(g.usage.get("in"), BigInt(row.in_bytes as number), `${name} in at ${at}`);
            assert.equal(g.usage.get("out"), name === "acme" ? BigInt(row.out_bytes as number) : undefined);
            assert.equal([...g.usage.values()].reduce((a, b) => a + b, 0n), BigInt(row.total_bytes as number));
          }
          // acme's cycle starts on the 1st at 00:00 UTC; the other's on the 15th at midnight in Berlin.
          assert.equal(got.get("acme")!.start, Date.parse(i < 2 ? "2025-03-01T00:00Z" : "2025-04-01T00:00Z") / 1000);
          assert.equal(got.get('we"st\\side')!.start, Date.parse("2025-03-14T23:00Z") / 1000);
          // A first sample counts from itself; every later one adds its traffic.
          assert.equal(got.get("acme")!.usage.get("in")! > 0n, i > 0, "traffic counted");
          assert.deepEqual(got.get("acme")!.quota, ["total", 1n << 20n]);
          assert.deepEqual(got.get('we"st\\side')!.quota, ["in", 1n << 30n]);
          const check = await promtoolCheckMetrics(await Deno.readTextFile(textfile));
          assert.deepEqual([check.code, check.output], [0, ""]);
        }
        // The README's quota ratio, through Prometheus: acme's total over its quota.
        const got = parseCycles(await ne.scrape()).get("acme")!;
        const ratio = Number(got.usage.get("in")! + got.usage.get("out")!) / 2 ** 20;
        const expr = `sum by (customer) (netmon_cycle_usage_bytes) / on (customer) netmon_quota_bytes{count="total"}`;
        const [q] = await prom.waitFor(expr, (x) => x.length === 1 && Math.abs(Number(x[0]!.value[1]) - ratio) < 1e-9);
        assert.equal(q!.metric.customer, "acme");
      })
    );
  },
);

Deno.test("textfile cycles: a meter counting one direction (not split) is in that direction, as the summary has it", async () => {
  await withTempDir(async (dir) => {
    const prom = `${dir}/netmon.prom`;
    const config = parseConfig(
      `source = "nftables"\n[prometheus]\ntextfile = "${prom}"\n[billing]\ntimezone = "UTC"\n` +
        `[[meter]]\nname = "up"\naddress = "198.51.100.0/28"\ndirection = "out"\n` +
        `[[meter]]\nname = "down"\naddress = "192.0.2.0/28"\ndirection = "in"\n` +
        `[[customer]]\nname = "acme"\nmeters = ["up"]\nquota = "1 MiB"\ncount = "in"\n` +
        `[[customer]]\nname = "link"\nmeters = ["up", "down"]\n`,
      `${dir}/netmon.toml`,
    );
    const files = stateFiles(`${dir}/state`);
    const outputs: SampleOutput[] = [
      alertsOutput(config, files, undefined)!,
      textfileOutput(prom, files, config.meters, { cycles: (r) => recordedCycles(config, files, r) }),
    ];
    let epoch = Date.UTC(2025, 2, 10);
    for (const [up, down] of [[0n, 0n], [800_000n, 300_000n]]) {
      await recordSample(files, {
        readCounters: () => Promise.resolve({ bytes: new Map([["up", up!], ["down", down!]]) }),
        now: () => formatTimestamp(new Date(epoch)),
        besideLast: async (s) => (await Promise.all(outputs.map((o) => o.beforeAppend?.(s) ?? []))).flat(),
        onRecorded: async (r) => {
          for (const o of outputs) await o.recorded?.(r);
        },
      });
      epoch += 3_600_000;
    }
    const got = parseCycles(await Deno.readTextFile(prom));
    assert.deepEqual([...got.get("acme")!.usage], [["out", 800_000n]]);
    assert.deepEqual([...got.get("link")!.usage], [["in", 300_000n], ["out", 800_000n]]);
  });
});
