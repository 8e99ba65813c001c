/**
 * Every cron line the README and examples/netmon.cron show, run exactly as
 * written (through /bin/sh with cron's PATH, as root) in the test sandbox: a
 * private mount namespace where this checkout is /opt/netmon, a web
 * directory /var/www/html/netmon belongs to www-data, and /usr/local/bin
 * holds netmon and netmon-graph as the compile task builds them (the same
 * script under the same permission set and V8 flags, since building a binary
 * needs a runtime download).
 *
 * @module
 */

import { deepEqual as assertEquals, ok } from "node:assert/strict";
import { must, run } from "./helpers.ts";
import { sandbox, type SandboxStep } from "./sandbox.ts";

const ROOT = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const CRON = /^(?:[\d*/,-]+\s+){5}root\s+(.+)$/;

/** The commands of the cron lines in `text` (after the user field), exactly as written. */
function cronCommands(text: string): string[] {
  return text.split("\n").map((l) => CRON.exec(l.trim())?.[1]).filter((c): c is string => c !== undefined);
}

const readme = cronCommands(Deno.readTextFileSync(`${ROOT}/README.md`));
const example = cronCommands(Deno.readTextFileSync(`${ROOT}/examples/netmon.cron`));

Deno.test("the README and examples/netmon.cron show cron lines (reports and nightly graphs)", () => {
  ok(readme.filter((c) => c.includes("report")).length >= 2, `${readme}`);
  ok(readme.some((c) => c.includes("graph.ts")), `${readme}`);
  ok(example.some((c) => c.includes("netmon report")) && example.some((c) => c.includes("netmon-graph")));
});

/** What the compiled binary of a compile-task entry runs, as a shim: its script, permission set and V8 flags. */
function shim(task: string): string {
  const args = (JSON.parse(Deno.readTextFileSync(`${ROOT}/deno.json`)).tasks.compile as string).split(" && ")
    .map((c) => c.split(" ")).find((c) => c.at(-1) === task) as string[];
  const set = args.find((a) => a.startsWith("-P="));
  const v8 = args.filter((a) => a.startsWith("--v8-flags="));
  return `#!/bin/sh\nexec /usr/bin/deno run -q --frozen --no-prompt --config /opt/netmon/deno.json ${set} ` +
    `${v8.join(" ")} /opt/netmon/${task} "$@"\n`;
}

Deno.test({
  name: "every cron line of the README and examples/ runs as written: reports logged, the nightly graph drawn",
  ignore: Deno.uid() !== 0,
  fn: async () => {
    const ns = `nmcron${Deno.pid}`;
    await must("ip", ["netns", "add", ns]);
    try {
      await must("ip", ["-n", ns, "link", "add", "v0", "type", "veth", "peer", "name", "v1"]);
      const sh = (command: string): SandboxStep => ({ run: ["/bin/sh", "-c", command], keep: true });
      const reports = [...readme, ...example].filter((c) => !/graph/.test(c));
      const graphs = [...readme, ...example].filter((c) => /graph/.test(c));
      const steps: SandboxStep[] = [
        { run: ["mount", "-t", "tmpfs", "tmpfs", "/opt"] },
        { run: ["mkdir", "/opt/netmon"] },
        { run: ["mount", "--bind", ROOT, "/opt/netmon"] },
        { write: "/usr/local/bin/netmon", text: shim("netmon.ts") },
        { write: "/usr/local/bin/netmon-graph", text: shim("graph.ts") },
        { run: ["chmod", "0755", "/usr/local/bin/netmon", "/usr/local/bin/netmon-graph"] },
        { run: ["mkdir", "-p", "/var/www/html/netmon"] },
        { run: ["chown", "www-data:www-data", "/var/www/html/netmon"] },
        // Each report line twice, a second apart, so that each has an interval.
        ...reports.flatMap((c) => [sh(c), { run: ["sleep", "1"] }, sh(c)]),
        ...graphs.map(sh),
        sh("head -c 8 /var/www/html/netmon/usage.png | od -An -tx1; head -c 8 /var/lib/netmon/usage.png | od -An -tx1"),
        sh("grep -c '^20' /var/lib/netmon/netmon.log"),
      ];
      const results = await sandbox(steps, ns);
      const lines = [...reports.flatMap((c) => [c, c]), ...graphs];
      lines.forEach((c, i) => assertEquals([results[i]?.code, results[i]?.stderr], [0, ""], c));
      const [pngs, samples] = results.slice(lines.length);
      assertEquals(pngs?.stdout.trim().split("\n").map((l) => l.trim()), [
        "89 50 4e 47 0d 0a 1a 0a",
        "89 50 4e 47 0d 0a 1a 0a",
      ]);
      assertEquals(Number(samples?.stdout.trim()), reports.length * 2);
    } finally {
      await run("ip", ["netns", "del", ns]);
    }
  },
});
