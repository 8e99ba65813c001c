/**
 * A sandbox for tests that must change system files netmon reads (cron
 * tables, systemd units, /usr/sbin, the state directory's mount, the
 * xtables lock): a private mount namespace, optionally inside a network
 * namespace, where tests/sandbox_driver.ts lays overlays over /etc, /var,
 * /usr/sbin and /usr/local/bin. Nothing done inside reaches the host.
 *
 * @module
 */

import { run } from "./helpers.ts";

const DRIVER = new URL("./sandbox_driver.ts", import.meta.url).pathname;

/** One thing the sandbox does, in order. */
export type SandboxStep =
  /** Write (or append to) a file, making its directory. */
  | { write: string; text: string; append?: boolean }
  /** Remove a file or directory (a whiteout in the overlay). */
  | { remove: string }
  /** Make a symbolic link. */
  | { symlink: string; target: string }
  /** Hold an exclusive flock on a file until the sandbox ends. */
  | { lock: string }
  /** Run a program; it must succeed, unless `keep` asks for its result to be returned. */
  | { run: string[]; keep?: boolean }
  /**
   * Run netmon.ts (or NETMON_SCRIPT, or another `script` of the project) with arguments `netmon` under a
   * permission set (default netmon-admin) plus extra flags and environment; its result is returned.
   */
  | { netmon: string[]; script?: string; set?: string; permissions?: string[]; env?: Record<string, string> };

/** What a netmon step printed and how it exited. */
export interface StepResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Carries out `steps` in a fresh sandbox (inside network namespace `ns` if
 * given) and returns the results of its netmon steps and kept runs, in order.
 */
export async function sandbox(steps: SandboxStep[], ns?: string): Promise<StepResult[]> {
  const upper = await Deno.makeTempDir({ prefix: "netmon-sandbox-" });
  try {
    const argv = [
      ...(ns ? ["ip", "netns", "exec", ns] : []),
      "unshare",
      "--mount",
      "--propagation",
      "private",
      Deno.execPath(),
      "run",
      "-A",
      DRIVER,
      upper,
      JSON.stringify(steps),
    ];
    const r = await run(argv[0] as string, argv.slice(1), {
      env: {
        PATH: "/usr/sbin:/usr/bin:/sbin:/bin",
        ...(Deno.env.get("DENO_DIR") ? { DENO_DIR: Deno.env.get("DENO_DIR") as string } : {}),
      },
    });
    if (r.code !== 0) throw new Error(`sandbox failed (${r.code}): ${r.stderr}`);
    return JSON.parse(r.stdout);
  } finally {
    await Deno.remove(upper, { recursive: true });
  }
}
