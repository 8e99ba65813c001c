/**
 * Each command's --help is complete (every option the command accepts is
 * in it, and every option in it is accepted) and printed verbatim in the
 * README's command reference.
 *
 * @module
 */

import { deepEqual as assertEquals, ok, throws } from "node:assert/strict";
import { COMMAND_INFO, OPTIONS, parseCommandLine } from "../lib/cli/commands.ts";
import { CHECKS } from "../lib/doctor/finding.ts";
import { graph, netmon, withTempDir } from "./helpers.ts";

const README = Deno.readTextFileSync(new URL("../README.md", import.meta.url));
/** Every command with a help page: all of the command table but help itself. */
const TOPICS = Object.keys(COMMAND_INFO).filter((c) => c !== "help");
const ALL_OPTIONS = OPTIONS.map((o) => o.name);
const VALUED = new Set(OPTIONS.filter((o) => o.type === "string").map((o) => o.name));

function accepts(command: string, option: string): boolean {
  try {
    const shell = command === "completions" ? ["bash"] : [];
    parseCommandLine([command, ...shell, `--${option}`, ...(VALUED.has(option) ? ["x"] : [])]);
    return true;
  } catch {
    return false;
  }
}

Deno.test("every command's help names exactly the options it accepts", () =>
  withTempDir(async (dir) => {
    for (const command of TOPICS) {
      const r = await netmon(["help", command], { dirs: [dir] });
      assertEquals([r.code, r.stderr], [0, ""], command);
      const options = r.stdout.slice(r.stdout.indexOf("\nOptions:\n"));
      ok(options.length > 10, `${command} has an Options section`);
      const listed = new Set([...options.matchAll(/^ {2}(?:-\w, )? *--([\w-]+)/gm)].map((m) => m[1] as string));
      for (const option of ALL_OPTIONS) {
        assertEquals(listed.has(option), accepts(command, option), `${command} --${option}`);
      }
      const usage = r.stdout.split("\n")[0] ?? "";
      ok(usage.startsWith(`Usage: netmon ${command === "report" ? "[report]" : command}`), usage);
    }
    throws(() => parseCommandLine(["status", "--json"]), /--json only applies to summary and doctor/);
  }));

Deno.test("the README's command reference is each help, verbatim", () =>
  withTempDir(async (dir) => {
    const block = (text: string) => "```\n" + text + "```\n";
    const main = await netmon(["--help"], { dirs: [dir] });
    ok(README.includes(block(main.stdout)), "README has 'netmon --help' verbatim");
    for (const command of TOPICS) {
      const r = await netmon([command, "--help"], { dirs: [dir] });
      ok(README.includes(block(r.stdout)), `README has 'netmon ${command} --help' verbatim`);
    }
    const g = await graph(["--help"]);
    ok(README.includes(block(g.stdout)), "README has 'graph.ts --help' verbatim");
  }));

Deno.test("doctor's help lists every check doctor runs: the README's doctor table, and doctor's own list", () =>
  withTempDir(async (dir) => {
    const r = await netmon(["doctor", "--help"], { dirs: [dir] });
    assertEquals(r.code, 0, r.stderr);
    const at = README.indexOf("### Is it all working? `netmon doctor`");
    const table = README.slice(README.indexOf("| check ", at), README.indexOf("\n\n", README.indexOf("| check ", at)));
    const inReadme = [...table.matchAll(/^\| `([\w-]+)` /gm)].map((m) => m[1] as string);
    const listed = [...r.stdout.slice(0, r.stdout.indexOf("\nOnly reads:")).matchAll(/^ {2}([\w-]+) {2,}/gm)]
      .map((m) => m[1] as string);
    assertEquals(listed, inReadme);
    assertEquals(CHECKS.map((c) => c.name), inReadme);
  }));
