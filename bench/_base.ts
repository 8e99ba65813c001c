/**
 * Bench helper: the cost of the reset checks (counter identities, netmon.ident*,
 * start records; issue 17) measured against the code before them, run in the
 * same process: the base commit is checked out in a temporary git worktree
 * and its `recordSample` imported beside the current one. Both record the
 * same readings into their own state directory, interleaved.
 *
 * @module
 */
// deno-lint-ignore-file no-console
import { must, REPORT_SCRIPT } from "../tests/helpers.ts";

/** The commit before the reset checks. */
export const BASE_COMMIT = "d7d3a11";

const ROOT = new URL("..", import.meta.url).pathname;

/** Runs `fn` with a worktree of `commit` (the base commit), removed afterwards; undefined if git cannot make one. */
export async function withBaseWorktree<T>(
  fn: (dir: string) => Promise<T>,
  commit: string = BASE_COMMIT,
): Promise<T | undefined> {
  const dir = await Deno.makeTempDir({ prefix: "netmon-base-" });
  const git = (args: string[]) =>
    new Deno.Command("git", { args, cwd: ROOT, stdout: "null", stderr: "piped" }).output();
  const add = await git(["worktree", "add", "--detach", dir, commit]);
  if (!add.success) {
    console.log(`(no worktree of ${commit}: ${new TextDecoder().decode(add.stderr).trim()})`);
    await Deno.remove(dir, { recursive: true });
    return undefined;
  }
  try {
    return await fn(dir);
  } finally {
    await git(["worktree", "remove", "--force", dir]);
  }
}

/**
 * Runs `fn` with a worktree of the current commit whose reset check is only
 * "the counter went down" (lib/state/identity.ts replaced by that, in the
 * throwaway worktree only): the same code as the report but the identity
 * checks, so {@linkcode compareRecord} beside it shows what they alone cost,
 * syncs included.
 */
export function withoutIdentityChecks<T>(fn: (dir: string) => Promise<T>): Promise<T | undefined> {
  return withBaseWorktree(async (dir) => {
    await Deno.writeTextFile(
      `${dir}/lib/state/identity.ts`,
      `export function checkResets(_files, previous, sample) {
  const resets = new Map();
  for (const [c, v] of sample.counters) if (previous && v < (previous.counters.get(c) ?? 0n)) resets.set(c, "counter went down");
  return { resets, lines: "", logged: new Map(), commit() {}, cleanup() {} };
}
`,
    );
    return await fn(dir);
  }, "HEAD");
}

type Reading = { bytes: Map<string, bigint>; packets: Map<string, bigint>; asWritten: Set<string> };
type RecordSample = (
  files: unknown,
  opts: { readCounters: () => Promise<Reading>; now: () => string },
) => Promise<unknown>;

interface Impl {
  record: RecordSample;
  files: unknown;
}

async function impl(root: string, dir: string): Promise<Impl> {
  const { recordSample } = await import(`file://${root}/lib/state/record.ts`);
  const { stateFiles } = await import(`file://${root}/lib/state/files.ts`);
  return { record: recordSample as RecordSample, files: stateFiles(dir) };
}

const quantile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) * q)]!;

/**
 * Times `rounds` recorded samples of `meters` iptables-like columns (bytes,
 * packets) with the current and the base `recordSample`, interleaved, after a
 * warm-up, in a directory under `under` (default: the temporary directory);
 * prints the medians side by side and returns the extra cost in ms. On a disk
 * that includes the syncs' extra work (what the identity files add to the log's sync);
 * under /dev/shm (no syncs) it is the computation alone.
 */
export async function compareRecord(
  baseRoot: string,
  meters: number,
  rounds: number,
  under?: string,
  baseName = `base ${BASE_COMMIT} (no reset checks)`,
): Promise<number> {
  const work = await Deno.makeTempDir({ prefix: "netmon-record-bench-", ...(under ? { dir: under } : {}) });
  try {
    const cases = { current: await impl(ROOT, `${work}/current`), base: await impl(baseRoot, `${work}/base`) };
    const names = Array.from({ length: meters }, (_, i) => `m${i}`);
    const times: Record<string, number[]> = { current: [], base: [] };
    let second = 0;
    const stamp = () => {
      const s = second++;
      const hh = String(Math.floor(s / 3600) % 24).padStart(2, "0");
      const mm = String(Math.floor(s / 60) % 60).padStart(2, "0");
      return `2026/01/${String(1 + Math.floor(s / 86400)).padStart(2, "0")}-${hh}:${mm}:${
        String(s % 60).padStart(2, "0")
      }`;
    };
    for (let i = -5; i < rounds; i++) {
      const v = BigInt(1000 * (i + 10));
      const reading = (): Reading => ({
        bytes: new Map(names.map((n) => [n, v])),
        packets: new Map(names.map((n) => [n, v / 100n])),
        asWritten: new Set(names),
      });
      for (const name of i % 2 === 0 ? ["current", "base"] : ["base", "current"]) {
        const c = cases[name as "current" | "base"];
        const now = stamp();
        const t0 = performance.now();
        await c.record(c.files, { readCounters: () => Promise.resolve(reading()), now: () => now });
        if (i >= 0) times[name]!.push(performance.now() - t0);
      }
    }
    const cur = quantile(times.current!, 0.5);
    const base = quantile(times.base!, 0.5);
    const spread = (xs: number[]) => `p10 ${quantile(xs, 0.1).toFixed(2)}, p90 ${quantile(xs, 0.9).toFixed(2)}`;
    const fs = new TextDecoder().decode(
      (await new Deno.Command("stat", { args: ["-f", "-c", "%T", work], stdout: "piped" }).output()).stdout,
    ).trim();
    console.log(
      `recording one sample of ${meters} meters in ${work} (${fs}), in-process, median of ${rounds} interleaved:`,
    );
    console.log(`  with the reset checks:            ${cur.toFixed(2).padStart(7)} ms (${spread(times.current!)})`);
    console.log(`  ${`${baseName}:`.padEnd(32)} ${base.toFixed(2).padStart(7)} ms (${spread(times.base!)})`);
    return cur - base;
  } finally {
    await Deno.remove(work, { recursive: true });
  }
}

/**
 * Times the reset checks alone, as a report runs them for `meters` columns:
 * reading the identity files, comparing, writing the new generation (without its
 * log append). Prints and returns the median and the minimum in ms.
 */
export async function timeChecks(meters: number, rounds: number): Promise<{ median: number; min: number }> {
  const { checkResets } = await import("../lib/state/identity.ts");
  const { stateFiles } = await import("../lib/state/files.ts");
  const { formatLogLine } = await import("../lib/state/log_format.ts");
  const dir = await Deno.makeTempDir({ prefix: "netmon-checks-bench-" });
  try {
    const files = stateFiles(dir);
    const names = Array.from({ length: meters }, (_, i) => `m${i}`);
    let previous: { timestamp: string; counters: Map<string, bigint> } | undefined;
    const times: number[] = [];
    for (let i = -5; i < rounds; i++) {
      const v = BigInt(1000 * (i + 10));
      const reading = {
        bytes: new Map(names.map((n) => [n, v])),
        packets: new Map(names.map((n) => [n, v / 100n])),
        asWritten: new Set(names),
      };
      const k = i + 5;
      const sample = {
        timestamp: `2026/01/01-${String(Math.floor(k / 3600)).padStart(2, "0")}:${
          String(Math.floor(k / 60) % 60).padStart(2, "0")
        }:${String(k % 60).padStart(2, "0")}`,
        counters: reading.bytes,
      };
      const line = formatLogLine(sample);
      const t0 = performance.now();
      const check = checkResets(files, previous, sample, reading, { at: 1_000_000 + k, boot: 1 }, []);
      check.commit(check.lines + line);
      const t1 = performance.now();
      Deno.writeTextFileSync(files.log, check.lines + line, { append: true });
      check.cleanup();
      if (i >= 0) times.push(t1 - t0);
      previous = sample;
    }
    const result = { median: quantile(times, 0.5), min: quantile(times, 0) };
    console.log(
      `the reset checks alone for ${meters} meters (read the identity files, compare, write one): ` +
        `median ${result.median.toFixed(2)} ms, min ${result.min.toFixed(2)} ms over ${rounds}`,
    );
    return result;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/**
 * Installs `config`'s rules in namespace `ns` with `netmon start`, recording what it installed in `state` (never
 * the host's state directory).
 */
export async function startIn(ns: string, config: string, state: string): Promise<void> {
  await must("ip", [
    "netns",
    "exec",
    ns,
    Deno.execPath(),
    "run",
    "-q",
    "-A",
    REPORT_SCRIPT,
    "start",
    "-c",
    config,
    "-s",
    state,
  ]);
}
