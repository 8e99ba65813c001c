/**
 * The README's set-up works as written: its quick start and the original
 * setup's commands, taken from the README itself, run one after the other
 * as root on a machine with no netmon files (the test sandbox: overlays over
 * /etc and /var inside a network namespace), each exiting 0, and doctor then
 * finding all well.
 *
 * @module
 */

import { deepEqual as assertEquals, match, ok } from "node:assert/strict";
import { netnsTest, withPair } from "./helpers.ts";
import { sandbox, type StepResult } from "./sandbox.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const README = Deno.readTextFileSync(`${ROOT}README.md`);

/** The commands of the first ```sh block after `heading`, comments dropped. */
function commands(heading: string): string[] {
  const at = README.indexOf(heading);
  ok(at >= 0, heading);
  const start = README.indexOf("```sh\n", at) + 6;
  const block = README.slice(start, README.indexOf("```", start));
  return block.split("\n").map((l) => l.replace(/\s+#.*$/, "").trim()).filter((l) => l !== "");
}

netnsTest(
  "README: the quick start's report and the original setup's commands work as written, in order",
  () =>
    withPair(async (p) => {
      const quick = commands("Then, from this directory, one command runs").filter((c) => c !== "deno task test");
      const original = commands("`examples/original.toml` is the 2010 setup exactly");
      assertEquals(quick, ["deno task report"]);
      ok(
        original[0] === "mkdir -p /etc/netmon" && original.includes("deno task netmon schedule --cron"),
        original.join("; "),
      );
      const all = [...quick, ...original];
      const r = await sandbox(
        all.map((c) => ({ run: ["sh", "-c", `cd ${ROOT} && ${c}`], keep: true })),
        p.a,
      ) as StepResult[];
      all.forEach((c, i) => {
        const step = r[i] as StepResult;
        // deno task names the task it runs on stderr: that is all it may say there.
        const said = step.stderr.split("\n").filter((l) => l !== "" && !l.startsWith("Task "));
        assertEquals([step.code, said], [0, []], `${c}: ${JSON.stringify(step)}`);
      });
      match((r[0] as StepResult).stdout, /^Last Total - Timestamp: /);
      match((r[all.indexOf("deno task netmon start --dry-run")] as StepResult).stdout, /netmon:proxy/);
      match((r.at(-1) as StepResult).stdout, /netmon doctor: all is well\n$/);
    }),
);

netnsTest(
  "README: a command run by hand on a config kept elsewhere is refused with the README's line, which works as written",
  async () => {
    const block = commands("### Running a command by hand on a config kept elsewhere");
    assertEquals(block.length, 3, block.join("; "));
    const [copy, task, line] = block as [string, string, string];
    ok(task.startsWith("deno task netmon ") && line.startsWith("deno run "), block.join("; "));
    const r = await sandbox([copy, task, line].map((c) => ({ run: ["sh", "-c", `cd ${ROOT} && ${c}`], keep: true })));
    const [copied, refused, ran] = r as [StepResult, StepResult, StepResult];
    assertEquals(copied.code, 0, copied.stderr);
    // The refusal prints exactly the README's line (the set's lists as deno.json has them now).
    assertEquals(refused.code, 77, refused.stderr);
    ok(refused.stderr.endsWith(`: run it as: ${line}\n`), refused.stderr);
    assertEquals([ran.code, ran.stderr], [0, ""], line);
    match(ran.stdout, /^# netmon report for \/etc\/netmon-lab\.toml, state in \/var\/lib\/netmon-lab\n/);
  },
);
