/**
 * `netmon doctor`: runs the checks of lib/doctor/ with this host's adapters and prints the findings.
 *
 * @module
 */

import { runCommand } from "../host/run.ts";
import { runWith } from "../host/invocation.ts";
import { deniedMessage, findConfig, findStateDir, out } from "./context.ts";
import type { Config } from "../config/config.ts";
import { getEnv, getUid } from "../host/env.ts";
import type { MailConfig } from "../config/mail.ts";
import { DenoDenied, EX, NetmonError } from "../host/errors.ts";
import { stateDirChecked, stateFiles } from "../state/files.ts";
import { dirsTrust, dirTrustWarnings, STORE_DIR, TEXTFILE_DIR, type TrustFinding } from "../host/dir_trust.ts";
import { trustChecks } from "../config/trust.ts";
import type { Options } from "./commands.ts";

/** What was found, but what could not be checked (no run permission for stat), which is not a problem found. */
const checked = (found: readonly TrustFinding[]) =>
  found.map((f) => f.line).filter((w) => !w.startsWith("cannot check"));

/** doctor's status when a check found a problem (a verdict, not a failure: sysexits does not apply). */
const DOCTOR_PROBLEM = 1;

/**
 * `netmon doctor` (its command line `args`, for the run line a refusal to
 * read the config prints): every check, as text or JSON; exit 1 when one
 * found a problem.
 */
export async function doctor(opts: Options, args: readonly string[] = []): Promise<number> {
  const { diagnose, formatFindings } = await import("../doctor/diagnose.ts");
  // What a refusal's line runs: this doctor, with everything it looks at.
  const given = { config: opts.config, stateDir: opts.stateDir, task: { command: "doctor" } };
  let config: Config | NetmonError;
  try {
    config = await findConfig(opts.config);
  } catch (err) {
    if (!(err instanceof NetmonError)) throw err;
    config = err instanceof DenoDenied
      ? new NetmonError(await deniedMessage(err, "netmon", args, given), err.exitCode, { cause: err })
      : err;
  }
  const files = config instanceof NetmonError ? undefined : stateFiles(findStateDir(opts.stateDir, config));
  // A fix's command names what this run was given.
  const findings = await diagnose({
    config,
    given: runWith(opts),
    runLine: async (denied) =>
      (await (await import("./permission_line.ts")).passingLine(denied, "netmon", args, given))?.line,
    ...(files ? { files } : {}),
    run: runCommand,
    now: new Date(),
    // What cannot be checked (no run permission for stat) is not a problem found.
    // As report says them: refused as root (lib/config/trust.ts).
    stateDirTrust: async (dir) => checked(await dirsTrust([[dir, stateDirChecked(getUid())]])),
    configTrust: async (c, dir) =>
      checked(
        await dirsTrust(
          trustChecks(c, dir ?? "", getUid() ?? 0).filter(([, k]) =>
            k.refuse === "always" && (k !== STORE_DIR || dir !== undefined)
          ),
        ),
      ),
    textfileDirTrust: async (dir) =>
      (await dirTrustWarnings(dir, TEXTFILE_DIR)).filter((w) => !w.startsWith("cannot check")),
    verifyMail: async (c) => {
      const mail = c.mail as MailConfig;
      const { Mailer, smtpPassword } = await import("../outputs/mail.ts");
      const mailer = await Mailer.open(mail, await smtpPassword(mail, getEnv));
      try {
        return await mailer.verify();
      } finally {
        mailer.close();
      }
    },
    // As the report connects (its password, TLS and timeouts), then which tables are there and this host's newest
    // stamp: nothing is created or written.
    verifyStore: async (c) => {
      const { openConfiguredStore } = await import("../outputs/postgres_output.ts");
      const store = await openConfiguredStore(c, "connect");
      try {
        return (await store.tables()).stats ? { table: true, newest: await store.lastStamp() } : { table: false };
      } finally {
        await store.close();
      }
    },
  });
  const healthy = findings.every((f) => f.verdict !== "problem");
  out(opts.json ? JSON.stringify({ ok: healthy, checks: findings }, null, 2) + "\n" : formatFindings(findings));
  return healthy ? EX.OK : DOCTOR_PROBLEM;
}
