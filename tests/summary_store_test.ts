/**
 * `netmon summary --store` against a real throwaway PostgreSQL cluster: two
 * hosts' logs imported, then for one host (`--host`) every view is the text
 * `netmon summary` prints from that host's log, and for the fleet (no
 * `--host`) every row is the hosts' rows added up.
 *
 * @module
 */

import assert from "node:assert/strict";
import { parseExactJson } from "../lib/host/json.ts";
import { PostgresStore } from "../lib/outputs/postgres.ts";
import { hostSamples } from "../lib/outputs/postgres_samples.ts";
import { formatHeader, formatLogLine } from "../lib/state/log_format.ts";
import { formatTimestamp } from "../lib/usage/local_time.ts";
import { linearEstimate } from "../lib/usage/projection.ts";
import { billingPasses, Summarizer } from "../lib/usage/summary.ts";
import { netmon, withTempDir, writeConfig } from "./helpers.ts";
import { postgresUnavailable, startPostgresCluster } from "./postgres_cluster.ts";
import { seededRandom } from "./random.ts";

const unavailable = postgresUnavailable();

/**
 * What netmon needs for the store here: stat (what a report refuses to run with, summary refuses too:
 * lib/config/trust.ts), `dir` to read, `write` to write, the cluster's port.
 */
function storePermissions(dir: string, write: string, port: number): string[] {
  return [
    "--allow-run=/usr/bin/stat",
    `--allow-read=${dir}`,
    `--allow-write=${write}`,
    `--allow-net=127.0.0.1:${port}`,
    "--allow-env=NETMON_CONFIG,NETMON_STATE_DIR,XDG_STATE_HOME,HOME,TZ",
    "--allow-sys=uid",
  ];
}

/** Each host's log (by host name) in `dir/HOST`, imported into the store `store` (its config lines) as that host. */
async function importHosts(dir: string, store: string, logs: Record<string, string>, port: number): Promise<void> {
  for (const [host, log] of Object.entries(logs)) {
    await Deno.mkdir(`${dir}/${host}`);
    await Deno.writeTextFile(`${dir}/${host}/netmon.log`, log);
    const config = await writeConfig(`${dir}/${host}`, `host = "${host}"\n${store}`);
    const r = await netmon(["import", "-c", config, "-s", `${dir}/${host}`], {
      permissions: storePermissions(dir, `${dir}/${host}`, port),
    });
    assert.equal(r.code, 0, r.stderr);
  }
}

/**
 * `n` samples every `everyS` s (with jitter) from `start`: columns a-in, a-out and c-gone, then b-in (a meter
 * added), then no c-gone (a meter removed); a reset now and then. `span` gets b-in's first sample and the last.
 */
function hostLog(
  random: () => number,
  start: number,
  n: number,
  everyS: number,
  span = { bFirst: NaN, last: NaN },
): string {
  let cols = ["a-in", "a-out", "c-gone"];
  const counters = new Map<string, bigint>([["a-in", 0n], ["a-out", 2n ** 40n], ["c-gone", 0n]]);
  let text = formatHeader(cols);
  let t = start;
  for (let i = 0; i < n; i++) {
    t += (everyS + Math.floor(random() * 30)) * 1000;
    if (i === Math.floor(n / 3)) {
      cols = [...cols, "b-in"];
      counters.set("b-in", 7n);
      text += formatHeader(cols);
      span.bFirst = t;
    }
    if (i === Math.floor(2 * n / 3)) {
      cols = cols.filter((c) => c !== "c-gone");
      text += formatHeader(cols);
    }
    span.last = t;
    for (const c of cols) {
      const v = random() < 1 / 200
        ? BigInt(Math.floor(random() * 1000))
        : counters.get(c)! + BigInt(Math.floor(random() * 3e6));
      counters.set(c, v);
    }
    text += formatLogLine({
      timestamp: formatTimestamp(new Date(t)),
      counters: new Map(cols.map((c) => [c, counters.get(c)!])),
    });
  }
  return text;
}

type JsonRow = Record<string, unknown>;

const rowKey = (r: JsonRow) => `${r.start}\0${r.name}\0${r.kind}`;

/** The hosts' rows added up per bucket, name and kind, as the fleet's rows should be (no 95th percentile). */
function addedUp(docs: { rows: JsonRow[] }[]): Map<string, Record<string, bigint>> {
  const sum = new Map<string, Record<string, bigint>>();
  for (const doc of docs) {
    for (const r of doc.rows) {
      const into = sum.get(rowKey(r)) ?? {};
      sum.set(rowKey(r), into);
      for (const k of ["in_bytes", "out_bytes", "total_bytes", "resets"]) {
        if (r[k] !== undefined) into[k] = (into[k] ?? 0n) + BigInt(r[k] as number | bigint);
      }
    }
  }
  return sum;
}

Deno.test({
  name: "summary --store: one host's views are its log's, the fleet's rows are the hosts' rows added up",
  ignore: unavailable !== undefined,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using cluster = await startPostgresCluster();
    await withTempDir(async (dir) => {
      const random = seededRandom("summary --store");
      const start = Date.UTC(2024, 2, 10);
      const spans = { h1: { bFirst: NaN, last: NaN }, h2: { bFirst: NaN, last: NaN } };
      const logs = {
        h1: hostLog(random, start, 1600, 300, spans.h1),
        h2: hostLog(random, start + 77_000, 1100, 420, spans.h2),
      };
      await Deno.writeTextFile(`${dir}/pw`, `${cluster.password}\n`, { mode: 0o600 });
      // Customers in two billings: the columns' (cycle day 1) and beta's own (day 15, UTC).
      const billing = `[billing]\ncycle_day = 1\n\n[[customer]]\nname = "acme"\nmeters = ["a-in", "b-in"]\n\n` +
        `[[customer]]\nname = "beta"\nmeters = ["a-out"]\ncycle_day = 15\ntimezone = "UTC"\n`;
      const store = `store = "${cluster.url}"\n[postgresql]\npassword_file = "${dir}/pw"\n`;
      const permissions = (write: string) => storePermissions(dir, write, cluster.port);
      await importHosts(dir, store, logs, cluster.port);
      // One config for reading: the log summaries and the store's.
      await Deno.mkdir(`${dir}/reader`);
      const reader = await writeConfig(`${dir}/reader`, `host = "reader"\n${store}\n${billing}`);
      const summary = async (args: string[]) => {
        const r = await netmon(["summary", "-c", reader, ...args], { permissions: permissions(`${dir}/reader`) });
        assert.equal(r.code, 0, `${args.join(" ")}: ${r.stderr}`);
        assert.equal(r.stderr, "", args.join(" "));
        return r.stdout;
      };
      const views = [
        ["--by", "day", "--json"],
        ["--by", "cycle", "--csv"],
        ["--by", "hour", "--json", "--from", "2024-03-12", "--to", "2024-03-13"],
        ["--top", "2", "--json"],
        ["--by", "month", "--meter", "acme"],
        ["--json", "--to", "2024-03-16 12:00"],
        ["--to", "2024-03-16 12:00"],
      ];
      for (const view of views) {
        // One host: exactly the text its log gives (the 95th percentile included).
        for (const host of Object.keys(logs)) {
          const fromLog = await summary([...view, "-s", `${dir}/${host}`]);
          const fromStore = await summary([...view, "--store", "--host", host]);
          assert.equal(fromStore, fromLog, `${view.join(" ")}: --host ${host}`);
          assert.ok(fromLog.length > 100 && /acme/.test(fromLog), `${view.join(" ")}: a real summary`);
        }
      }
      // A customer named as its column (its meters default to its name): the store's text tells the two rows
      // apart as the log's does, for one host and for the fleet.
      await Deno.mkdir(`${dir}/same`);
      const same = await writeConfig(`${dir}/same`, `host = "reader"\n${store}\n[[customer]]\nname = "b-in"\n`);
      const sameName = async (args: string[]) => {
        const r = await netmon(["summary", "-c", same, "--by", "month", "--meter", "b-in", ...args], {
          permissions: permissions(`${dir}/same`),
        });
        assert.equal(r.code, 0, `${args.join(" ")}: ${r.stderr}`);
        return r.stdout.trimEnd().split("\n").map((l) => l.split(/\s{2,}/)[1]);
      };
      const marked = ["name", "b-in (column)", "b-in (customer)"];
      assert.deepEqual(await sameName(["-s", `${dir}/h1`]), marked, "the log's");
      assert.deepEqual(await sameName(["--store", "--host", "h1"]), marked, "one host's from the store");
      assert.deepEqual(await sameName(["--store"]), marked, "the fleet's");
      // The fleet: each row the hosts' rows added up.
      for (const view of [["--by", "day", "--json"], ["--by", "cycle", "--json"], ["--by", "hour", "--json"]]) {
        const perHost = await Promise.all(
          Object.keys(logs).map(async (h) => parseExactJson(await summary([...view, "-s", `${dir}/${h}`])) as never),
        );
        const fleet = parseExactJson(await summary([...view, "--store"])) as { rows: JsonRow[] };
        const both = parseExactJson(await summary([...view, "--store", "--host", "h1", "--host", "h2"]));
        assert.deepEqual(both, fleet, "--host for every host is the default");
        const got = new Map<string, Record<string, bigint>>();
        for (const r of fleet.rows) {
          assert.equal(r.p95_bps, undefined, "no 95th percentile across hosts");
          const o: Record<string, bigint> = {};
          for (const k of ["in_bytes", "out_bytes", "total_bytes", "resets"]) {
            if (r[k] !== undefined) o[k] = BigInt(r[k] as number | bigint);
          }
          assert.ok(!got.has(rowKey(r)), `one row per bucket and name: ${rowKey(r)}`);
          got.set(rowKey(r), o);
        }
        const want = addedUp(perHost);
        assert.deepEqual(got, want, view.join(" "));
        assert.ok([...want.values()].some((r) => (r.resets ?? 0n) > 0n) && want.size > 4, "resets and several rows");
      }
      // The fleet's overview: each period's figures the hosts' added up (estimates and coverage aside).
      const overview = ["--json", "--to", "2024-03-16 12:00"];
      type Overview = { billings: { lines: Record<string, Record<string, unknown>>[] }[] };
      const figures = (docs: Overview[]) => {
        const sum = new Map<string, bigint>();
        for (const doc of docs) {
          doc.billings.forEach((b, k) => {
            for (const line of b.lines) {
              for (const period of ["today", "yesterday", "cycle", "previous_cycle", "year"]) {
                for (const [field, v] of Object.entries(line[period] ?? {})) {
                  const key = `${k}\0${line.name}\0${line.kind}\0${period}\0${field}`;
                  sum.set(key, (sum.get(key) ?? 0n) + BigInt(v as number | bigint));
                }
              }
            }
          });
        }
        return sum;
      };
      const hostsOverview = await Promise.all(
        Object.keys(logs).map(async (h) =>
          parseExactJson(await summary([...overview, "-s", `${dir}/${h}`])) as Overview
        ),
      );
      const fleetOverview = parseExactJson(await summary([...overview, "--store"])) as Overview;
      const wantOverview = figures(hostsOverview);
      assert.deepEqual(figures([fleetOverview]), wantOverview, "overview");
      assert.ok([...wantOverview.values()].some((v) => v > 0n) && fleetOverview.billings.length === 2);
      // The fleet's estimate of b-in (a meter added mid-cycle on both hosts) counts from its first sample on either
      // host, not from the first sample of all (10 March): what came before it is unknown, not zero.
      type Line = { name: string; cycle: { total_bytes: bigint }; estimate?: { total_bytes: bigint } };
      type Billing = { periods: { cycle: { start: string; end: string } }; lines: Line[] };
      const fleetCycle = (fleetOverview as unknown as { billings: Billing[] }).billings[0]!;
      const bIn = fleetCycle.lines.find((l) => l.name === "b-in")!;
      const bounds = {
        start: Date.parse(fleetCycle.periods.cycle.start),
        end: Date.parse(fleetCycle.periods.cycle.end),
      };
      const bFirst = Math.min(spans.h1.bFirst, spans.h2.bFirst), last = Math.max(spans.h1.last, spans.h2.last);
      const total = bIn.cycle.total_bytes;
      assert.ok(bFirst > bounds.start + 86_400_000 && last < Date.parse("2024-03-16T12:00:00Z"), "b-in came late");
      assert.equal(
        bIn.estimate?.total_bytes,
        linearEstimate(total, bounds, bFirst, last, last),
        "b-in's fleet estimate",
      );
      // acme gains b-in mid-cycle (a-in is there from the first sample): each column projected over its own time,
      // summed, not its whole usage over a-in's time.
      const line = (name: string) => fleetCycle.lines.find((l) => l.name === name)!;
      assert.equal(
        line("acme").estimate?.total_bytes,
        BigInt(line("a-in").estimate!.total_bytes) + BigInt(bIn.estimate!.total_bytes),
        "acme's fleet estimate: a-in's and b-in's",
      );
      // c-gone was removed from both hosts' configs (no host's newest sample has it): it counts no more traffic, so
      // its estimate, on one host as on the fleet, is what it counted, not its rate carried to the cycle's end.
      const gone = line("c-gone");
      assert.ok(BigInt(gone.cycle.total_bytes) > 0n && bounds.end > last, "c-gone counted, and the cycle goes on");
      assert.equal(BigInt(gone.estimate!.total_bytes), BigInt(gone.cycle.total_bytes), "c-gone's fleet estimate");
      for (const doc of hostsOverview) {
        const mine = (doc as unknown as { billings: Billing[] }).billings[0]!.lines.find((l) => l.name === "c-gone")!;
        assert.equal(BigInt(mine.estimate!.total_bytes), BigInt(mine.cycle.total_bytes), "c-gone's estimate on a host");
      }
      // Mistakes are one line each.
      const r = await netmon(["summary", "-c", reader, "--store", "--host", "h3"], {
        permissions: permissions(`${dir}/reader`),
      });
      assert.equal(r.code, 64);
      assert.match(r.stderr, /^netmon: --host h3: no samples of that host in the store \(there are: h1, h2\)/);
      const noStore = await netmon(["summary", "-c", reader, "--host", "h1"], {
        permissions: permissions(`${dir}/reader`),
      });
      assert.equal(noStore.code, 64);
      assert.match(noStore.stderr, /--host needs --store/);
    });
  },
});

/** `n` samples every 300 s from `start`, of `columns`, each growing by `step` bytes an interval. */
function steadyLog(start: number, n: number, columns: string[], step: bigint): string {
  let text = formatHeader(columns);
  for (let i = 0; i < n; i++) {
    text += formatLogLine({
      timestamp: formatTimestamp(new Date(start + i * 300_000)),
      counters: new Map(columns.map((c) => [c, BigInt(i) * step])),
    });
  }
  return text;
}

Deno.test({
  name: "summary --store: a column's coverage and estimate are its own hosts' whatever hosts are chosen, and a " +
    "customer's column on a host not chosen is its zero there",
  ignore: unavailable !== undefined,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using cluster = await startPostgresCluster();
    await withTempDir(async (dir) => {
      const start = Date.UTC(2024, 2, 10);
      // office-old stopped after two days; office-a and office-b went on for five.
      const logs = {
        "office-a": steadyLog(start, 1440, ["lan-inbound-v4", "proxy"], 1000n),
        "office-b": steadyLog(start + 77_000, 1440, ["proxy"], 3000n),
        "office-old": steadyLog(start + 13_000, 600, ["non-network"], 5000n),
      };
      await Deno.writeTextFile(`${dir}/pw`, `${cluster.password}\n`, { mode: 0o600 });
      const store = `store = "${cluster.url}"\n[postgresql]\npassword_file = "${dir}/pw"\n`;
      const permissions = (write: string) => storePermissions(dir, write, cluster.port);
      await importHosts(dir, store, logs, cluster.port);
      await Deno.mkdir(`${dir}/reader`);
      const office = `[[customer]]\nname = "office"\nmeters = ["proxy", "lan-inbound-v4"]\n`;
      const bill = await writeConfig(`${dir}/reader`, `host = "reader"\n${store}\n${office}`, "bill.toml");
      const old = `[[customer]]\nname = "old"\nmeters = ["non-network"]\n`;
      const oldConfig = await writeConfig(`${dir}/reader`, `host = "reader"\n${store}\n${old}`, "old.toml");
      const run = (args: string[], config = bill) =>
        netmon(["summary", "-c", config, ...args], { permissions: permissions(`${dir}/reader`) });
      const summary = async (args: string[], config = bill) => {
        const r = await run(args, config);
        assert.deepEqual([r.code, r.stderr], [0, ""], `${args.join(" ")}: ${r.stderr}`);
        return r.stdout;
      };
      type Line = { name: string; kind: string; cycle_coverage: number; estimate?: unknown };
      const lines = async (args: string[]) => {
        const doc = parseExactJson(await summary(["--json", "--to", "2024-03-16 12:00", ...args], oldConfig)) as {
          billings: { lines: Line[] }[];
        };
        return new Map(doc.billings[0]!.lines.map((l) => [`${l.kind} ${l.name}`, l]));
      };
      // A column and a customer of office-old alone: as its log gives them, with office-b chosen too or not.
      const own = await lines(["-s", `${dir}/office-old`]);
      const alone = await lines(["--store", "--host", "office-old"]);
      const withB = await lines(["--store", "--host", "office-old", "--host", "office-b"]);
      for (const key of ["column non-network", "customer old"]) {
        const { cycle_coverage, estimate } = own.get(key)!;
        assert.ok(cycle_coverage > 0.09 && estimate !== undefined, `${key}: ${cycle_coverage}`);
        assert.deepEqual(alone.get(key), own.get(key), `${key}: --host office-old`);
        const both = withB.get(key)!;
        assert.deepEqual([both.cycle_coverage, both.estimate], [cycle_coverage, estimate], `${key}: with office-b`);
      }
      // office's lan-inbound-v4 is on office-a only: with office-b alone, the customer is office-b's proxy.
      const rows = (csv: string, name: string, kind: string) =>
        csv.split("\n").filter((l) => l.split(",")[2] === name && l.split(",")[3] === kind)
          .map((l) => l.split(",")[6]);
      const b = await summary(["--store", "--host", "office-b", "--by", "day", "--csv"]);
      assert.deepEqual(rows(b, "office", "customer"), rows(b, "proxy", "column"));
      assert.equal(rows(b, "office", "customer").length, 5);
      // A name no host has stays a config error.
      const wrong = await writeConfig(
        `${dir}/reader`,
        `host = "reader"\n${store}\n[[customer]]\nname = "x"\nmeters = ["proxy", "nowhere"]\n`,
        "wrong.toml",
      );
      const r = await run(["--store", "--host", "office-b", "--by", "day"], wrong);
      assert.equal(r.code, 78, r.stderr);
      assert.match(r.stderr, /"nowhere" matches no meter or column \(columns of the store \(office-b, and the other /);
    });
  },
});

Deno.test({
  name: "summary --store reads with a user that may only SELECT: it creates nothing, a store without resets reads " +
    "as none, one without stats is one line",
  ignore: unavailable !== undefined,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using cluster = await startPostgresCluster();
    await withTempDir(async (dir) => {
      const start = Date.UTC(2024, 2, 10);
      await Deno.writeTextFile(`${dir}/pw`, `${cluster.password}\n`, { mode: 0o600 });
      await Deno.writeTextFile(`${dir}/billing-pw`, "billing-ro-pw\n", { mode: 0o600 });
      const permissions = storePermissions(dir, dir, cluster.port);
      await Deno.writeTextFile(`${dir}/netmon.log`, steadyLog(start, 600, ["lan-inbound-v4", "proxy"], 1000n));
      const writer = await writeConfig(
        dir,
        `host = "edge1"\nstore = "${cluster.url}"\n[postgresql]\npassword_file = "${dir}/pw"\n`,
      );
      const imported = await netmon(["import", "-c", writer, "-s", dir], { permissions });
      assert.equal(imported.code, 0, imported.stderr);
      // The usual reporting user: SELECT on the tables, no CREATE on the schema (PostgreSQL 15's default for public).
      await cluster.psql(
        "CREATE ROLE billing LOGIN PASSWORD 'billing-ro-pw'; GRANT SELECT ON stats, resets TO billing; " +
          "REVOKE CREATE ON SCHEMA public FROM PUBLIC",
      );
      const reader = await writeConfig(
        dir,
        `host = "billing"\nstore = "${cluster.url.replace(`//${cluster.user}@`, "//billing@")}"\n` +
          `[postgresql]\npassword_file = "${dir}/billing-pw"\n`,
        "billing.toml",
      );
      const args = ["--by", "day", "--csv"];
      const fromLog = await netmon(["summary", "-c", writer, "-s", dir, ...args], { permissions });
      assert.deepEqual([fromLog.code, fromLog.stderr], [0, ""]);
      assert.equal(fromLog.stdout.trim().split("\n").length, 1 + 3 * 2, fromLog.stdout); // 3 days, 2 columns
      const fromStore = () => netmon(["summary", "-c", reader, "--store", ...args], { permissions });
      const tables = () => cluster.psql("SELECT to_regclass('stats') IS NOT NULL, to_regclass('resets') IS NOT NULL");
      const both = await fromStore();
      assert.deepEqual([both.code, both.stderr], [0, ""], "both tables");
      assert.equal(both.stdout, fromLog.stdout);
      // A store made before the resets table: no resets, and none created.
      await cluster.psql("DROP TABLE resets");
      const noResets = await fromStore();
      assert.deepEqual([noResets.code, noResets.stderr], [0, ""], "no resets table");
      assert.equal(noResets.stdout, fromLog.stdout);
      assert.equal((await tables()).trim(), "t|f");
      // No stats yet: one line, exit 66 (EX_NOINPUT), nothing created.
      await cluster.psql("DROP TABLE stats");
      const empty = await fromStore();
      assert.equal(empty.code, 66, empty.stderr);
      assert.equal(empty.stdout, "");
      assert.match(
        empty.stderr,
        new RegExp(
          `^netmon: PostgreSQL store billing@127\\.0\\.0\\.1:${cluster.port}/${cluster.database}: no samples ` +
            "stored yet \\(no table stats: the first report or 'netmon import' with this store creates it\\)\\n$",
        ),
      );
      assert.equal((await tables()).trim(), "f|f");
    });
  },
});

Deno.test({
  name: "summary --store: the store says which of a host's columns come back, with SELECT alone, and a meter " +
    "removed for good holds no host's rows back to the end",
  ignore: unavailable !== undefined,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using cluster = await startPostgresCluster();
    const start = Date.UTC(2024, 2, 10) / 1000;
    // Four days of hourly stamps (0 to 95). h1: a throughout, gone to hour 29 (removed for good), back away from
    // hour 40 to 59 (removed and added back), mid from 10 to 20 and late from 50 (never missing in between); h2:
    // gone to 29 beside a, and a stamp at 00:30 that h1 has none at: no gap of h1's (each host's stamps its own).
    const rows = (host: string, type: string, from: number, to: number, skip?: [number, number]) =>
      `INSERT INTO stats (host, stamp, type, packets, bytes) SELECT '${host}', ${start} + h * 3600, '${type}', h, ` +
      `h * 1000 FROM generate_series(${from}, ${to}) AS h` +
      (skip ? ` WHERE h NOT BETWEEN ${skip[0]} AND ${skip[1]}` : "") + ";";
    const writer = await PostgresStore.open({ url: cluster.url, host: "writer", password: cluster.password });
    await writer.close();
    await cluster.psql(
      rows("h1", "a", 0, 95) + rows("h1", "gone", 0, 29) + rows("h1", "back", 0, 95, [40, 59]) +
        rows("h1", "mid", 10, 20) + rows("h1", "late", 50, 95) + rows("h2", "a", 0, 95) + rows("h2", "gone", 0, 29) +
        `INSERT INTO stats (host, stamp, type, packets, bytes) VALUES ('h2', ${start + 1800}, 'a', 0, 500), ` +
        `('h2', ${start + 1800}, 'gone', 0, 500);` +
        "CREATE ROLE billing LOGIN PASSWORD 'billing-ro-pw'; GRANT SELECT ON stats, resets TO billing; " +
        "REVOKE CREATE ON SCHEMA public FROM PUBLIC",
    );
    const url = cluster.url.replace(`//${cluster.user}@`, "//billing@");
    const store = await PostgresStore.openToRead({ url, host: "billing", password: "billing-ro-pw" });
    try {
      assert.deepEqual(await store.returning("h1"), new Set(["back"]));
      assert.deepEqual(await store.returning("h2"), new Set());
      assert.deepEqual(await store.returning("nowhere"), new Set());
      // h2 through the summary's summarizer by UTC day, as oneHost runs it: each day's rows as the next day's first
      // sample closes it, though gone left for good on the 2nd (held to the end before the store said it).
      const passes = billingPasses({ cycleDay: 1, timeZone: "UTC" }, []);
      const summarizer = new Summarizer(passes, { unit: "day", returning: await store.returning("h2") });
      const out: [number, string][] = [];
      let k = 0;
      for await (const s of hostSamples(store, "h2")) {
        for (const r of summarizer.push(s)) out.push([k, `${r.label} ${r.name}`]);
        k++;
      }
      for (const r of summarizer.finish()) out.push([k, `${r.label} ${r.name}`]);
      assert.equal(k, 97);
      // Samples: hour 0, h2's 00:30, then hour 1 on: the first of day d is sample 24d + 1.
      assert.deepEqual(out, [
        [25, "2024-03-10 a"],
        [25, "2024-03-10 gone"],
        [49, "2024-03-11 a"],
        [49, "2024-03-11 gone"],
        [73, "2024-03-12 a"],
        [97, "2024-03-13 a"],
      ]);
    } finally {
      await store.close();
    }
  },
});
