/**
 * Records one sample the way a report with `[prometheus] textfile` does
 * (lib/state/record.ts with `netmon.totals` kept beside `netmon.last`), and,
 * run as a program, kills itself with SIGKILL at a chosen step of the
 * transaction, so that tests/totals_file_test.ts can check what every crash
 * window leaves behind:
 *
 * - `before-append`: the sample's files are written, the log is not;
 * - `after-append`: the sample is in the log, `netmon.last` not replaced;
 * - `after-last`: `netmon.last` replaced, `netmon.totals` not committed;
 * - `after-rename`: `netmon.totals` committed but not marked as kept up to the
 *   sample (the state between its rename and its mark, which the commit does
 *   in two steps when the offsets changed: its time is then when it was
 *   written, as the rename leaves it);
 * - `none`: no crash.
 *
 * Usage: deno run -A tests/totals_crash_driver.ts STATE_DIR STEP_JSON CRASH_AT
 *
 * @module
 */

import { stateFiles } from "../lib/state/files.ts";
import { recordSample, type Replacement } from "../lib/state/record.ts";
import { prepareTotals, totalsPath } from "../lib/state/totals_file.ts";

/** One sample: its stamp, and per column its counter and its counter's identity (a new one flags a reset). */
export interface Step {
  stamp: string;
  columns: [name: string, counter: number, identity: string][];
}

/** Where to crash (see the module). */
export type CrashAt = "before-append" | "after-append" | "after-last" | "after-rename" | "none";

const die = (): never => {
  Deno.kill(Deno.pid, "SIGKILL");
  throw new Error("not killed");
};

/** Records `step` in state directory `dir` with netmon.totals beside netmon.last; returns the warnings. */
export async function recordStep(dir: string, step: Step, crashAt: CrashAt = "none"): Promise<string[]> {
  const files = stateFiles(dir);
  const r = await recordSample(files, {
    readCounters: () =>
      Promise.resolve({
        bytes: new Map(step.columns.map(([c, n]) => [c, BigInt(n)])),
        identities: new Map(step.columns.map(([c, , id]) => [c, id])),
        identityReason: "counter re-created",
      }),
    now: () => step.stamp,
    onPrepare: () => {
      if (crashAt === "before-append") die();
      // Committed after the log append, before netmon.last is renamed.
      return { commit: () => crashAt === "after-append" && die(), abandon: () => {} };
    },
    besideLast: async (s) => {
      const p = await prepareTotals(
        files.dir,
        files.log,
        s.previous,
        s.sample,
        s.warnings,
        s.resets,
        undefined,
        s.lastLogged,
      );
      // Committed after netmon.last.
      const totals: Replacement = {
        commit() {
          if (crashAt === "after-last") die();
          p.file.commit();
          if (crashAt === "after-rename") {
            const now = new Date();
            Deno.utimeSync(totalsPath(dir), now, now);
            die();
          }
        },
        abandon: () => p.file.abandon(),
      };
      return [totals];
    },
  });
  return r.warnings;
}

if (import.meta.main) {
  const [dir, step, crashAt] = Deno.args as [string, string, CrashAt];
  await recordStep(dir, JSON.parse(step), crashAt);
}
