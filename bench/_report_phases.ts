/**
 * Bench helper: runs `netmon report` in this process, as netmon.ts runs it,
 * then prints the points the run reached (lib/host/phases.ts) as the last
 * line of its stderr: `phases [["config: TOML parsed", 52.1], …]`, ms since
 * the process started.
 *
 * @module
 */
// deno-lint-ignore-file no-console
import { main } from "../lib/cli/main.ts";
import { reached, reachedSoFar } from "../lib/host/phases.ts";

const code = await main(Deno.args);
reached("report: done");
console.error(`phases ${JSON.stringify(reachedSoFar())}`);
Deno.exit(code);
