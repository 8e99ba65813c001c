/**
 * A refusal's line runs the command to the end (lib/cli/permission_line.ts,
 * lib/config/permissions.ts taskNeeds): each command a user runs by hand on a
 * config, state directory, store, password file and page directory kept
 * elsewhere, run as its task is, then the line it printed run exactly as
 * printed, through sh. Where the config can be read (kept in /etc/netmon, in
 * the test sandbox), that one line is all; where the config itself is
 * refused, its line has what the command line names, and only what the
 * config alone names (a store's address and password file) takes one line
 * more.
 *
 * @module
 */

import { deepEqual as assertEquals, match, ok } from "node:assert/strict";
import { netnsTest, run, withPair, withTempDir } from "./helpers.ts";
import { sandbox, type StepResult } from "./sandbox.ts";

/** netmon's directory, where `deno task` runs. */
const ROOT = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
/** What a run of `deno` from a shell is given: where deno and its cache are, no colour. */
const SHELL_ENV = {
  PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
  HOME: Deno.env.get("HOME") ?? "/root",
  NO_COLOR: "1",
  ...(Deno.env.get("DENO_DIR") ? { DENO_DIR: Deno.env.get("DENO_DIR") as string } : {}),
};

/** Runs `line` with sh in netmon's directory (inside network namespace `ns` if given), as a user pastes it. */
const shell = (line: string, ns?: string) =>
  ns === undefined
    ? run("sh", ["-c", line], { env: SHELL_ENV, cwd: ROOT })
    : run("ip", ["netns", "exec", ns, "sh", "-c", line], { env: SHELL_ENV, cwd: ROOT });

/** The run line a refusal printed (on stderr, or in check's and doctor's output, where it may start a line). */
const lineOf = (text: string) => /run it as:\s+(deno run [^\n]*)/.exec(text)?.[1];

/** A TCP port on 127.0.0.1 that nothing listens on (a store that is down: connecting fails, but not by Deno). */
function closedPort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

const LOG = "2026/11/21-10:00:00\t1\t2\n2026/11/22-10:00:00\t5\t9\n";

/** A config with a PostgreSQL store (its password file in `dir`) and state in `dir`/state. */
function storeConfig(dir: string, port: number): string {
  return `source = "interface"\ninterfaces = ["lo"]\nhost = "lab"\n` +
    `store = "postgresql://netmon@127.0.0.1:${port}/netmon"\n\n[postgresql]\npassword_file = "${dir}/db.password"\n` +
    `sslmode = "disable"\n`;
}

/**
 * Runs `task`, which must be refused (exit 77, or check's and doctor's own statuses saying so), then the line it
 * printed, and so on while refused: returns the results, the last the first not refused by Deno.
 */
async function follow(task: string, ns?: string): Promise<{ lines: string[]; last: Awaited<ReturnType<typeof run>> }> {
  const lines: string[] = [];
  let r = await shell(task, ns);
  for (let step = 0; step < 4; step++) {
    const said = r.stderr + r.stdout;
    if (!said.includes("Deno denied")) break;
    const line = lineOf(said);
    ok(line !== undefined, said);
    lines.push(line);
    r = await shell(line, ns);
  }
  return { lines, last: r };
}

Deno.test("a config kept elsewhere: the config's refusal line runs report, summary, check, doctor and graph --html to the end", () =>
  withTempDir(async (dir) => {
    const config = `${dir}/lab.toml`;
    await Deno.writeTextFile(config, 'source = "interface"\ninterfaces = ["lo"]\n');
    const given = `-c ${config} -s ${dir}/state`;
    const report = await follow(`deno task -q netmon ${given} report`);
    assertEquals([report.lines.length, report.last.code, report.last.stderr], [1, 0, ""], report.lines.join("\n"));
    // The state directory named by -s is read and written by the report, in the same line as the config.
    ok(report.lines[0]?.includes(`,${config},${dir}/state --allow-write=/var/lib/netmon,`), report.lines[0]);
    ok(report.lines[0]?.endsWith(` netmon.ts ${given} report`), report.lines[0]);
    await Deno.writeTextFile(`${dir}/state/netmon.log`, LOG, { append: true });
    const summary = await follow(`deno task -q netmon ${given} summary`);
    assertEquals([summary.lines.length, summary.last.code, summary.last.stderr], [1, 0, ""], summary.lines[0]);
    // check says the refusal as its UNKNOWN line; its line runs the check (the sample is old: CRITICAL, not UNKNOWN).
    const check = await follow(`deno task -q netmon ${given} check`);
    assertEquals(check.lines.length, 1, check.last.stdout);
    match(check.last.stdout, /^NETMON (OK|WARNING|CRITICAL) - /);
    // doctor's line, from its config finding, runs every check it makes with the permissions they need.
    const doctor = await follow(`deno task -q netmon ${given} doctor`);
    assertEquals(doctor.lines.length, 1, doctor.last.stdout);
    ok(!doctor.last.stdout.includes("Deno denied"), doctor.last.stdout);
    match(doctor.last.stdout, /^ok +state-dir +/m);
    const graph = await follow(`deno task -q graph ${given} --html ${dir}/html`);
    assertEquals([graph.lines.length, graph.last.code, graph.last.stderr], [1, 0, ""], graph.lines[0]);
    ok(graph.lines[0]?.includes(` --allow-write=/var/lib/netmon,${dir}/html `), graph.lines[0]);
    ok((await Deno.stat(`${dir}/html/index.html`)).isFile);
  }));

Deno.test("doctor given its config but not the state directory: the state-dir finding's fix is the line that runs it", () =>
  withTempDir(async (dir) => {
    const config = `${dir}/lab.toml`;
    await Deno.writeTextFile(config, 'source = "interface"\ninterfaces = ["lo"]\n');
    await Deno.mkdir(`${dir}/state`);
    await Deno.writeTextFile(`${dir}/state/netmon.log`, LOG);
    const set = JSON.parse(await Deno.readTextFile(`${ROOT}/deno.json`)).permissions["netmon-admin"];
    // The config allowed by a flag of the user's own (as a line printed for it before would): the state directory not.
    const r = await follow(
      `deno run -q --frozen -P=netmon-admin --allow-read=${set.read.join(",")},${config} netmon.ts -c ${config} ` +
        `-s ${dir}/state doctor`,
    );
    assertEquals(r.lines.length, 1, r.last.stdout);
    ok(r.lines[0]?.includes(` --allow-write=${set.write.join(",")},${dir}/state `), r.lines[0]);
    ok(!r.last.stdout.includes("Deno denied"), r.last.stdout);
    match(r.last.stdout, /^ok +state-dir +/m);
  }));

Deno.test("a config kept elsewhere with a store: once the config is read, one line has the password file and the store", () =>
  withTempDir(async (dir) => {
    const config = `${dir}/lab.toml`;
    await Deno.writeTextFile(config, storeConfig(dir, closedPort()));
    await Deno.writeTextFile(`${dir}/db.password`, "secret\n", { mode: 0o600 });
    for (const command of ["summary --store", "report"]) {
      const r = await follow(`deno task -q netmon -c ${config} -s ${dir}/state ${command}`);
      // The config's own line (nothing else can be known before it is read), then the whole line.
      assertEquals(r.lines.length, 2, `${command}: ${r.lines.join("\n")}`);
      ok(r.lines[1]?.includes(`,${dir}/db.password`) && r.lines[1].includes(" --allow-net=127.0.0.1:"), r.lines[1]);
      // The store is down: the run goes to the end of what Deno allows, and fails connecting (75), not refused.
      assertEquals(r.last.code, 75, r.last.stderr);
      match(r.last.stderr, /Connection refused/);
    }
  }));

netnsTest(
  "a config kept elsewhere: start's and stop's line (the state directory read and written) runs them",
  () =>
    withPair(async (p) => {
      await withTempDir(async (dir) => {
        const config = `${dir}/lab.toml`;
        await Deno.writeTextFile(
          config,
          'source = "nftables"\ntable = "perm2"\n[[meter]]\nname = "b"\nfrom = "192.0.2.2"\n',
        );
        for (const command of ["start", "stop"]) {
          const r = await follow(`deno task -q netmon -c ${config} -s ${dir}/state ${command}`, p.a);
          assertEquals([r.lines.length, r.last.code, r.last.stderr], [1, 0, ""], `${command}: ${r.lines.join("\n")}`);
          ok(r.lines[0]?.includes(` --allow-write=/var/lib/netmon,/etc/cron.d,/etc/systemd/system,${dir}/state `));
        }
        // start recorded its rules in the state directory, and stop removed them.
        ok((await Deno.stat(`${dir}/state`)).isDirectory);
      });
    }, "perm2"),
);

netnsTest(
  "a config netmon reads (in /etc/netmon), all else elsewhere: the first refusal's line runs each command to the end",
  () =>
    withTempDir(async (dir) => {
      const port = closedPort();
      await Deno.writeTextFile(`${dir}/db.password`, "secret\n", { mode: 0o600 });
      await Deno.mkdir(`${dir}/state`);
      await Deno.writeTextFile(`${dir}/state/netmon.log`, LOG);
      const given = `-c /etc/netmon/lab.toml -s ${dir}/state`;
      const commands = [
        `deno task -q netmon ${given} summary --store`,
        `deno task -q netmon ${given} report`,
        `deno task -q graph ${given} --html ${dir}/html`,
      ];
      // Each command refused, then its line run as printed (taken from the refusal with sed, as a user copies it).
      const steps = commands.map((c) => ({
        run: [
          "sh",
          "-c",
          `cd ${ROOT} && ${c} 2>/run/refused; echo "refused: $?"; cat /run/refused; ` +
          `line=$(sed -n 's/.*: run it as: \\(deno run .*\\)$/\\1/p' /run/refused); echo "line: $line"; sh -c "$line"`,
        ],
        keep: true,
      }));
      const r = await sandbox([
        { write: "/etc/netmon/lab.toml", text: storeConfig(dir, port) },
        ...steps,
      ]) as StepResult[];
      const [store, report, graph] = r as [StepResult, StepResult, StepResult];
      for (const step of [store, report]) {
        match(step.stdout, /^refused: 77\nnetmon: Deno denied (read|write) access to /, step.stdout);
        // The line ran to the end of what Deno allows: the store is down (75), nothing refused.
        ok(!step.stderr.includes("Deno denied"), step.stderr);
        match(step.stderr, /^netmon: PostgreSQL store .*: Connection refused/m, JSON.stringify(step));
      }
      match(report.stdout, /Last Total - Timestamp: /);
      match(graph.stdout, /^refused: 77\ngraph: Deno denied /);
      assertEquals(graph.stderr, "");
      ok((await Deno.stat(`${dir}/html/index.html`)).isFile);
    }),
);
