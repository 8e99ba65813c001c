/**
 * Test helper: Debian's node_exporter with only its textfile collector, and
 * Prometheus scraping it every second, both on 127.0.0.1 only, on free ports,
 * as `nobody` when the tests run as root, with temporary directories removed
 * afterwards. They are started through `setpriv --pdeathsig KILL`, so even a
 * test process that dies cannot leave them running; every wait is bounded.
 *
 * @module
 */

import { dropRoot, freePort, type RunAs } from "./postgres_cluster.ts";

const decoder = new TextDecoder();

/** Where the Debian packages put the binaries. */
export const NODE_EXPORTER_BIN = "/usr/bin/prometheus-node-exporter";
/** Prometheus itself. */
export const PROMETHEUS_BIN = "/usr/bin/prometheus";
/** promtool, from the prometheus package. */
export const PROMTOOL_BIN = "/usr/bin/promtool";

/** Why these services cannot run here, or undefined when they can. */
export function prometheusUnavailable(): string | undefined {
  for (const bin of [NODE_EXPORTER_BIN, PROMETHEUS_BIN, PROMTOOL_BIN]) {
    try {
      Deno.statSync(bin);
    } catch {
      return `${bin} is missing (Debian packages prometheus and prometheus-node-exporter; .ci/run installs them)`;
    }
  }
  return undefined;
}

/** A service the test started, as a child process. */
interface Service {
  child: Deno.ChildProcess;
  stderr: () => string;
}

function spawn(as: RunAs, argv: string[]): Service {
  let err = "";
  const child = new Deno.Command("setpriv", {
    args: [...(as.prefix.length ? as.prefix.slice(1, -1) : []), "--pdeathsig", "KILL", "--", ...argv],
    env: { PATH: "/usr/bin:/bin", LANG: "C" },
    clearEnv: true,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  // Keep the last few KB of its log, for the error when it does not come up.
  (async () => {
    for await (const chunk of child.stderr) err = (err + decoder.decode(chunk)).slice(-8192);
  })().catch(() => {});
  return { child, stderr: () => err };
}

/** Stops a service: SIGTERM, then SIGKILL if it has not exited within `graceMs`. */
async function stopService(s: Service, graceMs = 10_000): Promise<void> {
  try {
    s.child.kill("SIGTERM");
  } catch {
    return; // already exited
  }
  const timer = setTimeout(() => {
    try {
      s.child.kill("SIGKILL");
    } catch { /* exited meanwhile */ }
  }, graceMs);
  try {
    await s.child.status;
  } finally {
    clearTimeout(timer);
  }
}

/** Polls `url` until it answers 200, for at most `timeoutMs`. */
async function waitHttp(url: string, s: Service, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  s.child.status.then(() => (exited = true));
  for (;;) {
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(2000) });
      await r.body?.cancel();
      if (r.ok) return;
    } catch { /* not up yet */ }
    if (exited || Date.now() > deadline) {
      throw new Error(`${url} did not come up within ${timeoutMs} ms${exited ? " (it exited)" : ""}:\n${s.stderr()}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * The local addresses process `pid` listens on (TCP), from `ss`; the tests
 * assert they are all 127.0.0.1.
 */
export async function listeningAddresses(pid: number): Promise<string[]> {
  const out = await new Deno.Command("ss", {
    args: ["-Hltnp"],
    env: { PATH: "/usr/bin:/bin:/usr/sbin:/sbin" },
    clearEnv: true,
    stdout: "piped",
    stderr: "null",
  }).output();
  return decoder.decode(out.stdout).split("\n").filter((l) => l.includes(`pid=${pid},`)).map((l) =>
    l.trim().split(/\s+/)[3] ?? ""
  );
}

/** node_exporter serving the `*.prom` files of a temporary directory. */
export interface NodeExporter {
  /** http://127.0.0.1:PORT */
  readonly url: string;
  /** The textfile collector's directory (mode 0755; files in it must be readable by `nobody`). */
  readonly textfileDir: string;
  /** Its process id. */
  readonly pid: number;
  /** GET /metrics. */
  scrape(): Promise<string>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Starts node_exporter on 127.0.0.1 with only the textfile collector. */
export async function startNodeExporter(): Promise<NodeExporter> {
  const as = await dropRoot(["nobody"]);
  const dir = await Deno.makeTempDir({ prefix: "netmon-textfile-" });
  await Deno.chmod(dir, 0o755);
  const port = freePort();
  const s = spawn(as, [
    NODE_EXPORTER_BIN,
    `--web.listen-address=127.0.0.1:${port}`,
    "--collector.disable-defaults",
    "--collector.textfile",
    `--collector.textfile.directory=${dir}`,
  ]);
  const url = `http://127.0.0.1:${port}`;
  const dispose = async () => {
    await stopService(s);
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  };
  try {
    await waitHttp(`${url}/metrics`, s, 20_000);
  } catch (err) {
    await dispose();
    throw err;
  }
  return {
    url,
    textfileDir: dir,
    pid: s.child.pid,
    async scrape() {
      const r = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5000) });
      if (!r.ok) throw new Error(`GET ${url}/metrics: ${r.status}`);
      return await r.text();
    },
    [Symbol.asyncDispose]: dispose,
  };
}

/** One series of an instant query's result. */
export interface PromSample {
  metric: Record<string, string>;
  /** [unix seconds, value as text]. */
  value: [number, string];
}

/** Prometheus scraping one target every second. */
export interface Prometheus {
  /** http://127.0.0.1:PORT */
  readonly url: string;
  /** Its process id. */
  readonly pid: number;
  /** An instant query (`/api/v1/query`), at `time` (unix seconds) if given. */
  query(expr: string, time?: number): Promise<PromSample[]>;
  /**
   * Queries `expr` every 250 ms until `ok` holds for the result (Prometheus
   * starts its scrape loop about 5 s after it starts); throws after `timeoutMs`.
   */
  waitFor(expr: string, ok: (r: PromSample[]) => boolean, timeoutMs?: number): Promise<PromSample[]>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Starts Prometheus on 127.0.0.1, scraping `target` (host:port) every second into a temporary storage directory. */
export async function startPrometheus(target: string): Promise<Prometheus> {
  const as = await dropRoot(["nobody"]);
  const dir = await Deno.makeTempDir({ prefix: "netmon-prometheus-" });
  await Deno.chmod(dir, 0o755);
  const config = `${dir}/prometheus.yml`;
  await Deno.writeTextFile(
    config,
    [
      "global:",
      "  scrape_interval: 1s",
      "  scrape_timeout: 1s",
      "  evaluation_interval: 1s",
      "scrape_configs:",
      "  - job_name: netmon",
      "    static_configs:",
      `      - targets: ['${target}']`,
      "",
    ].join("\n"),
    { createNew: true, mode: 0o644 },
  );
  const data = `${dir}/data`;
  await Deno.mkdir(data, { mode: 0o700 });
  await Deno.chown(data, as.uid, as.gid);
  const port = freePort();
  const s = spawn(as, [
    PROMETHEUS_BIN,
    `--config.file=${config}`,
    `--storage.tsdb.path=${data}`,
    `--web.listen-address=127.0.0.1:${port}`,
    "--log.level=warn",
  ]);
  const url = `http://127.0.0.1:${port}`;
  const dispose = async () => {
    await stopService(s, 20_000);
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  };
  try {
    await waitHttp(`${url}/-/ready`, s, 60_000);
  } catch (err) {
    await dispose();
    throw err;
  }
  const prometheus: Prometheus = {
    url,
    pid: s.child.pid,
    async query(expr, time) {
      const q = new URLSearchParams({ query: expr });
      if (time !== undefined) q.set("time", String(time));
      const r = await fetch(`${url}/api/v1/query?${q}`, { signal: AbortSignal.timeout(10_000) });
      const body = await r.json();
      if (body.status !== "success") throw new Error(`query ${expr}: ${JSON.stringify(body)}`);
      return body.data.result as PromSample[];
    },
    async waitFor(expr, ok, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const r = await prometheus.query(expr);
        if (ok(r)) return r;
        if (Date.now() > deadline) {
          throw new Error(`${expr} did not reach the expected value in ${timeoutMs} ms: ${JSON.stringify(r)}`);
        }
        await new Promise((res) => setTimeout(res, 250));
      }
    },
    [Symbol.asyncDispose]: dispose,
  };
  return prometheus;
}

/** Runs `promtool check metrics` on `text`; returns its exit code and what it said. */
export async function promtoolCheckMetrics(text: string): Promise<{ code: number; output: string }> {
  const child = new Deno.Command(PROMTOOL_BIN, {
    args: ["check", "metrics"],
    env: { PATH: "/usr/bin:/bin" },
    clearEnv: true,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const w = child.stdin.getWriter();
  await w.write(new TextEncoder().encode(text));
  await w.close();
  const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
  try {
    const out = await child.output();
    return { code: out.code, output: (decoder.decode(out.stdout) + decoder.decode(out.stderr)).trim() };
  } finally {
    clearTimeout(timer);
  }
}
