/**
 * The fleet outputs end to end, with real reports in network namespaces:
 * node_exporter serving the textfile and Prometheus scraping it through
 * traffic and a reset; a textfile that cannot be written; the exact extra
 * permissions of the textfile and the PostgreSQL store; two hosts into one
 * real PostgreSQL stopped mid-series and started again; a report SIGKILLed
 * while it catches the store up.
 *
 * @module
 */
// deno-lint-ignore-file no-console

import assert from "node:assert/strict";
import { formatHeader, formatLogLine } from "../lib/state/log_format.ts";
import { readTotals, totalsOfLog } from "../lib/state/totals_file.ts";
import { calendar } from "../lib/usage/calendar.ts";
import { usageByBucket } from "../lib/usage/engine.ts";
import { formatTimestamp } from "../lib/usage/local_time.ts";
import { linesOfFile, samplesOf } from "../lib/usage/log_samples.ts";
import { localZone } from "../lib/usage/zone.ts";
import { timedLogSamples } from "../lib/state/log_timed.ts";
import {
  type ExtraPermissions,
  must,
  netmon,
  netmonSet,
  netnsTest,
  NFT_ONE_METER_CONFIG,
  nftOnly,
  type Pair,
  sendUdp,
  spawnNetmon,
  withPair,
  withTempDir,
  writeConfig,
} from "./helpers.ts";
import { type PostgresCluster, postgresUnavailable, startPostgresCluster } from "./postgres_cluster.ts";
import {
  prometheusUnavailable,
  promtoolCheckMetrics,
  startNodeExporter,
  startPrometheus,
} from "./prometheus_harness.ts";

const logLines = async (path: string) => (await Deno.readTextFile(path)).split("\n").filter((l) => /^\d/.test(l));

/** Usage per column over the whole log, through the engine (what `netmon summary` counts). */
function engineUsage(log: string): Map<string, bigint> {
  const file = Deno.openSync(log);
  const out = new Map<string, bigint>();
  try {
    for (const b of usageByBucket(samplesOf(linesOfFile(file), log, () => {}), calendar("year", localZone()))) {
      for (const c of b.columns) out.set(c.name, (out.get(c.name) ?? 0n) + c.usage);
    }
  } finally {
    file.close();
  }
  return out;
}

function metric(text: string, name: string, column: string): bigint | undefined {
  const m = new RegExp(`^${name}\\{column="${column}"[^}]*\\} (\\S+)$`, "m").exec(text);
  return m ? BigInt(Number(m[1])) : undefined;
}

netnsTest(
  "fleet: node_exporter serves the textfile after real reports, and Prometheus' increase() spans a reset",
  async () => {
    const why = prometheusUnavailable();
    if (why) return console.warn(`skipped: ${why}`);
    await using ne = await startNodeExporter();
    await using prom = await startPrometheus(new URL(ne.url).host);
    await withPair((p) =>
      withTempDir(async (dir) => {
        const textfile = `${ne.textfileDir}/netmon.prom`;
        const config = await writeConfig(dir, `${NFT_ONE_METER_CONFIG}[prometheus]\ntextfile = "${textfile}"\n`);
        assert.equal((await netmon(["start", "-c", config], nftOnly(p.a, [dir]))).code, 0);
        const o = { ns: p.a, permissions: netmonSet(dir, { read: [ne.textfileDir], write: [ne.textfileDir] }) };
        const seen: bigint[] = [];
        const times: number[] = [];
        const steps: (() => Promise<unknown>)[] = [
          async () => {},
          () => sendUdp(p.b, "192.0.2.1", 30, 500),
          async () => {
            await must("ip", ["netns", "exec", p.a, "nft", "reset", "counters", "table", "inet", "netmon"]);
            await sendUdp(p.b, "192.0.2.1", 2, 100);
          },
          () => sendUdp(p.b, "192.0.2.1", 10, 300),
        ];
        for (const [i, step] of steps.entries()) {
          await step();
          const r = await netmon(["report", "-c", config, "-s", dir], o);
          assert.deepEqual([r.code, r.stderr], [0, ""], r.stderr);
          if (i === 2) assert.match(r.stdout, /RESET DETECTED/);
          const scraped = await ne.scrape();
          assert.match(scraped, /^node_textfile_scrape_error 0$/m);
          const total = metric(scraped, "netmon_traffic_bytes_total", "b");
          const raw = metric(scraped, "netmon_raw_bytes", "b");
          // The served values are the log's: its totals and its last counter, and the engine's usage.
          const fromLog = (await totalsOfLog(`${dir}/netmon.log`))!.columns.get("b")!;
          assert.equal(total, fromLog.total);
          assert.equal(raw, fromLog.counter);
          assert.equal(total, engineUsage(`${dir}/netmon.log`).get("b"));
          assert.equal(raw, BigInt((await logLines(`${dir}/netmon.log`)).at(-1)!.split("\t")[1]!));
          if (seen.length) assert.ok(total! >= seen.at(-1)!, "the total never goes down");
          seen.push(total!);
          assert.match(
            scraped,
            /^netmon_traffic_bytes_total\{column="b",family="ipv4",meter="b"\} \d+$/m,
            "labels from the config",
          );
          assert.equal(metric(scraped, "netmon_resets_total", "b"), i >= 2 ? 1n : undefined);
          assert.match(scraped, /^netmon_last_sample_timestamp_seconds \d+(\.\d+)?(e\+\d+)?$/m);
          assert.match(scraped, /^netmon_report_duration_seconds [\d.e+-]+$/m);
          const check = await promtoolCheckMetrics(await Deno.readTextFile(textfile));
          assert.deepEqual([check.code, check.output], [0, ""]);
          assert.equal((await Deno.stat(textfile)).mode! & 0o777, 0o644);
          await prom.waitFor(`netmon_traffic_bytes_total{column="b"}`, (q) => q[0]?.value[1] === String(total));
          times.push(Date.now() / 1000);
          await new Promise((res) => setTimeout(res, 3000));
        }
        // netmon's usage from the first report to the last, across the reset.
        const usage = seen.at(-1)! - seen[0]!;
        assert.ok(usage > 15_000n, `usage ${usage}`);
        const end = Date.now() / 1000;
        const window = Math.ceil(end - times[0]! + 0.5);
        const [inc] = await prom.query(`increase(netmon_traffic_bytes_total{column="b"}[${window}s])`, end);
        const got = Number(inc!.value[1]);
        // Prometheus extrapolates to the window's edges: never below the true increase, and at most by the share
        // of the window before the first scrape in it (about 1 s at a 1 s interval, the first value held before).
        assert.ok(got >= Number(usage) - 1e-6, `increase ${got} < netmon's ${usage}`);
        assert.ok(
          got <= Number(usage) * window / (window - 2.2),
          `increase ${got} too far above ${usage} (${window} s)`,
        );
      })
    );
  },
);

netnsTest(
  "fleet: a textfile that cannot be written is a warning and exit 74; the sample is logged",
  () =>
    withPair((p) =>
      withTempDir(async (dir) => {
        const config = await writeConfig(dir, `[prometheus]\ntextfile = "${dir}/missing/netmon.prom"\n`);
        const o = { ns: p.a, permissions: netmonSet(dir) };
        for (let i = 1; i <= 2; i++) {
          const r = await netmon(["report", "-c", config, "-s", dir], o);
          assert.equal(r.code, 74, r.stderr);
          assert.match(r.stdout, /^New Usage - /m, "the report is printed");
          assert.match(
            r.stderr,
            /^netmon: warning: Prometheus textfile .*\/missing\/netmon\.prom not written: .*parent directory does not exist \(the sample is logged; the next report writes it\)\n$/,
          );
          assert.equal((await logLines(`${dir}/netmon.log`)).length, i);
        }
        // The running totals were kept all along: up to the last sample.
        const last = (await logLines(`${dir}/netmon.log`)).at(-1)!.split("\t")[0]!;
        const kept = await readTotals(`${dir}/netmon.totals`, last, []);
        kept?.file.close();
        assert.ok(kept, "netmon.totals is kept up to the last sample");
      })
    ),
);

/** A cluster in namespace `ns` (reports there reach it at 127.0.0.1), or undefined after a skip note. */
async function clusterIn(ns: string): Promise<PostgresCluster | undefined> {
  const why = postgresUnavailable();
  if (why) {
    console.warn(`skipped: ${why}`);
    return undefined;
  }
  return await startPostgresCluster({ netns: ns });
}

async function storeRows(cluster: PostgresCluster, host: string): Promise<string[]> {
  return (await cluster.psql(
    `SELECT stamp || ' ' || type || ' ' || bytes FROM stats WHERE host = '${host}' ORDER BY 1`,
  ))
    .split("\n").filter((l) => l !== "");
}

/** The rows the store must hold for a log: one per sample and column, the later of two samples in one second. */
async function logRows(log: string): Promise<string[]> {
  const out = new Map<string, string>();
  for await (const { epoch, sample } of timedLogSamples(log)) {
    for (const [type, bytes] of sample.counters) out.set(`${epoch} ${type}`, `${epoch} ${type} ${bytes}`);
  }
  return [...out.values()].sort();
}

/** The permissions of a report with the textfile in `tf` and the store at `port`, password file `pw`. */
const FLEET_EXTRA = (tf: string, port: number, pw: string): ExtraPermissions => ({
  read: [tf, pw],
  write: [tf],
  net: [`127.0.0.1:${port}`],
});

netnsTest(
  "fleet: a report with the textfile and the store runs with exactly their permissions, and names each missing one",
  () =>
    withPair((p) =>
      withTempDir(async (dir) => {
        await using cluster = await clusterIn(p.a);
        if (!cluster) return;
        const [state, tf, secrets] = [`${dir}/state`, `${dir}/tf`, `${dir}/secrets`];
        for (const d of [state, tf, secrets]) await Deno.mkdir(d);
        const pw = `${secrets}/db.pw`;
        await Deno.writeTextFile(pw, `${cluster.password}\n`, { mode: 0o600 });
        const body =
          `store = "${cluster.url}"\n[postgresql]\npassword_file = "${pw}"\n[prometheus]\ntextfile = "${tf}/netmon.prom"\n`;
        const config = await writeConfig(state, `host = "edge1"\n${body}`);
        const extra = FLEET_EXTRA(tf, cluster.port, pw);
        const report = (e: ExtraPermissions, c = config) =>
          netmon(["report", "-c", c, "-s", state], { ns: p.a, permissions: netmonSet(state, e) });
        const ok = await report(extra);
        assert.deepEqual([ok.code, ok.stderr], [0, ""]);
        assert.deepEqual(await storeRows(cluster, "edge1"), await logRows(`${state}/netmon.log`));
        const without: [ExtraPermissions, RegExp][] = [
          // The textfile's directory, for both lists (it is replaced through a temporary file there).
          [{ ...extra, read: [pw] }, new RegExp(`--allow-read=…,${tf} --allow-write=…,${tf} `)],
          [{ ...extra, write: [] }, new RegExp(`--allow-read=…,${tf} --allow-write=…,${tf} `)],
          [{ ...extra, net: [] }, new RegExp(`--allow-net=127\\.0\\.0\\.1:${cluster.port}`)],
          [{ ...extra, read: [tf] }, new RegExp(`--allow-read=${pw}`)],
        ];
        for (const [e, flag] of without) {
          const before = (await logLines(`${state}/netmon.log`)).length;
          const r = await report(e);
          assert.equal(r.code, 77, `${flag}: ${r.stderr}`);
          assert.match(r.stderr, flag);
          assert.equal(r.stderr.trimEnd().split("\n").length, 1, r.stderr);
          assert.equal((await logLines(`${state}/netmon.log`)).length, before + 1, "the sample is logged anyway");
        }
        // Without `host`, the machine's host name: one more permission.
        const unnamed = await writeConfig(state, body, "unnamed.toml");
        const r = await report(extra, unnamed);
        assert.equal(r.code, 77);
        assert.match(r.stderr, /--allow-sys=hostname/);
        const named = await report({ ...extra, sys: ["hostname"] }, unnamed);
        assert.deepEqual([named.code, named.stderr], [0, ""]);
        // That first complete run under the new name caught the store up: every logged sample is in it, the
        // ones whose runs failed above included.
        assert.deepEqual(await storeRows(cluster, Deno.hostname()), await logRows(`${state}/netmon.log`));
      })
    ),
);

netnsTest(
  "fleet: two hosts into one PostgreSQL, stopped mid-series (exit 75, samples logged), restarted: the store equals both logs",
  () =>
    withPair((p: Pair) =>
      withTempDir(async (dir) => {
        await using cluster = await clusterIn(p.a);
        if (!cluster) return;
        await Deno.writeTextFile(`${dir}/pw`, `${cluster.password}\n`, { mode: 0o600 });
        const hosts = ["h1", "h2"];
        const configs: string[] = [];
        for (const h of hosts) {
          await Deno.mkdir(`${dir}/${h}`);
          configs.push(
            await writeConfig(
              `${dir}/${h}`,
              `host = "${h}"\nstore = "${cluster.url}"\n[postgresql]\npassword_file = "${dir}/pw"\n`,
            ),
          );
        }
        const run = (i: number) =>
          netmon(["report", "-c", configs[i]!, "-s", `${dir}/${hosts[i]}`], {
            ns: p.a,
            permissions: netmonSet(`${dir}/${hosts[i]}`, {
              read: [`${dir}/pw`],
              net: [`127.0.0.1:${cluster.port}`],
            }),
          });
        for (let round = 0; round < 6; round++) {
          if (round === 2) await cluster.stop();
          if (round === 4) await cluster.start();
          await sendUdp(p.b, "192.0.2.1", 5, 200 + round);
          for (let i = 0; i < hosts.length; i++) {
            const r = await run(i);
            assert.match(r.stdout, /^New Usage - /m, "the report is printed");
            if (round === 2 || round === 3) {
              assert.equal(r.code, 75, r.stderr);
              assert.match(
                r.stderr,
                /^netmon: PostgreSQL store netmon@127\.0\.0\.1:\d+\/traffic: unavailable: .*\(the log has the sample; the next run catches up\)\n$/,
              );
            } else assert.deepEqual([r.code, r.stderr], [0, ""], r.stderr);
            assert.equal((await logLines(`${dir}/${hosts[i]}/netmon.log`)).length, round + 1);
          }
        }
        for (const h of hosts) {
          assert.deepEqual(await storeRows(cluster, h), await logRows(`${dir}/${h}/netmon.log`), h);
        }

        // SIGKILL while a report catches the store up from a long log: nothing lost or doubled after the next run.
        const h3 = `${dir}/h3`;
        await Deno.mkdir(h3);
        const cols = ["x-in", "x-out", "y-in", "y-out"];
        let log = formatHeader(cols);
        const t0 = Date.UTC(2023, 0, 1);
        for (let i = 0; i < 40_000; i++) {
          log += formatLogLine({
            timestamp: formatTimestamp(new Date(t0 + i * 300_000)),
            counters: new Map(cols.map((c, j) => [c, BigInt(i * 1000 + j)])),
          });
        }
        await Deno.writeTextFile(`${h3}/netmon.log`, log);
        const config3 = await writeConfig(
          h3,
          `host = "h3"\nstore = "${cluster.url}"\n[postgresql]\npassword_file = "${dir}/pw"\n`,
        );
        const perms3 = netmonSet(h3, {
          read: [`${dir}/pw`],
          net: [`127.0.0.1:${cluster.port}`],
        });
        // A first report stores only its own sample (the store lacked nothing it knew of)... so make the store hold
        // the first logged sample, and the report must then load the 39,999 after it.
        await cluster.psql(
          `INSERT INTO stats VALUES ${
            cols.map((c, j) => `('h3', ${Math.floor(t0 / 1000)}, '${c}', NULL, ${j})`).join(", ")
          }`,
        );
        const child = spawnNetmon(["report", "-c", config3, "-s", h3], { ns: p.a, permissions: perms3 });
        const deadline = Date.now() + 60_000;
        let stored = 0;
        while (Date.now() < deadline) {
          stored = Number(await cluster.psql("SELECT count(*) FROM stats WHERE host = 'h3'"));
          if (stored > 1000) break;
          await new Promise((r) => setTimeout(r, 20));
        }
        child.kill("SIGKILL");
        await child.output();
        const afterKill = Number(await cluster.psql("SELECT count(*) FROM stats WHERE host = 'h3'"));
        assert.ok(stored > 1000 && afterKill < 160_000, `killed mid-catch-up: ${afterKill} rows stored`);
        const again = await netmon(["report", "-c", config3, "-s", h3], { ns: p.a, permissions: perms3 });
        assert.equal(again.code, 0, again.stderr);
        assert.deepEqual(await storeRows(cluster, "h3"), await logRows(`${h3}/netmon.log`));
      })
    ),
);

netnsTest(
  "fleet: a reset only the log records (nftables table deleted, netmon start, more traffic than before) is in the " +
    "store: summary --store is the log's summary, after the reports and after an import",
  () =>
    withPair((p) =>
      withTempDir(async (dir) => {
        await using cluster = await clusterIn(p.a);
        if (!cluster) return;
        await Deno.writeTextFile(`${dir}/pw`, `${cluster.password}\n`, { mode: 0o600 });
        const store = `store = "${cluster.url}"\n`;
        const pg = `[postgresql]\npassword_file = "${dir}/pw"\n`;
        const config = await writeConfig(dir, `host = "office-a"\n${store}${NFT_ONE_METER_CONFIG}${pg}`);
        const o = { ns: p.a, permissions: netmonSet(dir, { read: [`${dir}/pw`], net: [`127.0.0.1:${cluster.port}`] }) };
        const report = async () => {
          // Each sample in a second of its own (the store keeps one sample a second: see lib/outputs/store_rows.ts).
          await new Promise((res) => setTimeout(res, 1100));
          const r = await netmon(["report", "-c", config, "-s", dir], o);
          assert.deepEqual([r.code, r.stderr], [0, ""], r.stderr);
          return r.stdout;
        };
        assert.equal((await netmon(["start", "-c", config], nftOnly(p.a, [dir]))).code, 0);
        await report();
        await sendUdp(p.b, "192.0.2.1", 20, 500);
        await report();
        await must("ip", ["netns", "exec", p.a, "nft", "delete", "table", "inet", "netmon"]);
        assert.equal((await netmon(["start", "-c", config], nftOnly(p.a, [dir]))).code, 0);
        await sendUdp(p.b, "192.0.2.1", 40, 500);
        assert.match(await report(), /^== RESET DETECTED! == counter re-created: b;/m);
        assert.match(await Deno.readTextFile(`${dir}/netmon.log`), /^# netmon reset:\tb\tcounter re-created$/m);
        await sendUdp(p.b, "192.0.2.1", 5, 300);
        await report();
        const summary = async (args: string[], c = config) => {
          const r = await netmon(["summary", "-c", c, "--by", "day", "--csv", ...args], o);
          assert.deepEqual([r.code, r.stderr], [0, ""], `${args.join(" ")}: ${r.stderr}`);
          return r.stdout;
        };
        const fromLog = await summary(["-s", dir]);
        assert.match(fromLog, /,b,column,.*,1$/m, "the log's summary counts the reset");
        assert.equal(await summary(["--store", "--host", "office-a"]), fromLog, "the reports' rows");
        // The same log imported under another name (a store filled by `netmon import`).
        const imported = await writeConfig(dir, `host = "office-a-import"\n${store}${pg}`, "import.toml");
        const r = await netmon(["import", "-c", imported, "-s", dir], o);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(await summary(["--store", "--host", "office-a-import"]), fromLog, "the imported rows");
        // A store made before the resets table: a report makes it, an import of the log adds the reset, once.
        await cluster.psql("DROP TABLE resets");
        await report();
        const now = await summary(["-s", dir]);
        assert.notEqual(await summary(["--store", "--host", "office-a"]), now, "the reset is missing");
        const imports = [];
        for (let i = 0; i < 2; i++) {
          const again = await netmon(["import", "-c", config, "-s", dir], o);
          assert.equal(again.code, 0, again.stderr);
          imports.push(again.stdout.replace(/^.*: /, ""));
        }
        assert.deepEqual(imports, [
          "0 rows stored, 5 already present, 0 left out for a later sample of the same second; 1 reset(s) stored\n",
          "0 rows stored, 5 already present, 0 left out for a later sample of the same second\n",
        ]);
        assert.equal(await summary(["--store", "--host", "office-a"]), now, "the reset is back");
      })
    ),
);
