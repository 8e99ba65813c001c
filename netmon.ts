#!/usr/bin/env -S deno run -q -P=netmon-admin
/**
 * netmon: meters network traffic from firewall and kernel counters, from
 * cron. The entry point: runs the command line (lib/cli/) and exits with its
 * sysexits status.
 *
 * @module
 */

import { main } from "./lib/cli/main.ts";

export { main };
export { parseCommandLine } from "./lib/cli/commands.ts";

if (import.meta.main) Deno.exit(await main(Deno.args));
