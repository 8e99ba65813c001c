/**
 * Least privilege: netmon run with exactly each permission set of deno.json
 * does its job, and with that same set everything else (reading outside its
 * config and state, writing elsewhere, running other programs, opening
 * network connections, other environment variables, FFI) is denied. Runs in
 * the sandbox (a network namespace and a private mount namespace with
 * overlays over /etc and /var), so the machine's own files are never touched.
 */
import { deepEqual as assertEquals, ok } from "node:assert/strict";
import { netnsTest, NFT_ONE_METER_CONFIG, sendUdp, withPair } from "./helpers.ts";
import { sandbox, type SandboxStep, type StepResult } from "./sandbox.ts";

const STATE = ["/var/lib/netmon/netmon.log", "/var/lib/netmon/netmon.last", "/var/lib/netmon/netmon.lock"];
const SETS = ["netmon", "netmon-admin", "graph"];

netnsTest(
  "each permission set allows its job and nothing else; state files are 0640 or tighter",
  () =>
    withPair(async (p) => {
      await sendUdp(p.b, "192.0.2.1", 1, 10);
      const graph = (args: string[]): SandboxStep => ({ netmon: args, script: "graph.ts", set: "graph" });
      const steps: SandboxStep[] = [
        { write: "/etc/netmon/netmon.toml", text: NFT_ONE_METER_CONFIG },
        { netmon: ["start"] },
        { netmon: ["report"], set: "netmon" },
        { netmon: ["report"], set: "netmon" },
        { netmon: ["start"], set: "netmon" },
        graph(["-o", "/var/lib/netmon/usage.dat", "--plot", "/var/lib/netmon/usage.png"]),
        graph(["-o", "/tmp/netmon-usage.dat"]),
        { run: ["stat", "-c", "%a %n", ...STATE], keep: true },
        { netmon: ["summary", "--by", "day", "--csv"], set: "netmon" },
        ...SETS.map((set): SandboxStep => ({
          netmon: [],
          script: "tests/privilege_probe.ts",
          set,
          env: { NETMON_SMTP_PASSWORD: "probe-secret" },
        })),
        { netmon: ["stop"] },
      ];
      const [start, report, report2, startUnderReportSet, drawn, graphElsewhere, modes, summarized, ...rest] =
        await sandbox(
          steps,
          p.a,
        ) as StepResult[];
      const probes = rest.slice(0, SETS.length).map((r) => JSON.parse(r.stdout) as Record<string, string>);
      const stop = rest[SETS.length] as StepResult;
      for (const [name, r] of Object.entries({ start, report, report2, drawn, summarized, stop })) {
        assertEquals([r?.code, r?.stderr], [0, ""], `${name}: ${JSON.stringify(r)}`);
      }
      ok(report2?.stdout.startsWith("Last Total - Timestamp: "), report2?.stdout);
      // netmon summary reads the log under the report's own set.
      ok(summarized?.stdout.includes(",b,column,"), summarized?.stdout);
      // The report set may run nft (to read); start then finds nothing to change.
      assertEquals(startUnderReportSet?.code, 0, JSON.stringify(startUnderReportSet));
      // Under the graph set, the refusal prints the whole line: the set's write list and /tmp, the user's arguments.
      assertEquals(graphElsewhere?.code, 77);
      ok(
        /^graph: Deno denied write access to \/tmp: this run.s permissions \(the graph set, .*: run it as: deno run .*-P=graph .*--allow-write=\/var\/lib\/netmon,\/tmp .*graph\.ts -o \/tmp\/netmon-usage\.dat\n$/
          .test(graphElsewhere?.stderr ?? ""),
        graphElsewhere?.stderr,
      );
      const lines = modes?.stdout.trim().split("\n") ?? [];
      assertEquals(lines.length, STATE.length, modes?.stderr);
      for (const line of lines) {
        const [mode, path] = line.split(" ");
        ok(
          (parseInt(mode as string, 8) & 0o027) === 0,
          `${path} has mode ${mode}: group may not write, others nothing`,
        );
      }
      const denied = [
        "read /etc/shadow",
        "read /root",
        "write /tmp",
        "run /bin/sh",
        "run /usr/bin/env",
        "connect 127.0.0.1:25",
        "connect 192.0.2.2:80",
        "env PATH",
        "ffi",
      ];
      const want: Record<string, string[]> = {
        netmon: [...denied, "write /etc/netmon", "run /usr/sbin/iptables-restore", "run /usr/bin/gnuplot"],
        "netmon-admin": [...denied, "write /etc/netmon", "run /usr/bin/gnuplot"],
        graph: [...denied, "write /etc/netmon", "run /usr/sbin/iptables-restore", "env NETMON_SMTP_PASSWORD"],
      };
      SETS.forEach((set, i) => {
        const got = probes[i] as Record<string, string>;
        for (const op of want[set] ?? []) assertEquals(got[op], "denied", `${set}: ${op} should be denied`);
        assertEquals(got["read /etc/netmon/netmon.toml"], "ok", `${set} reads its config`);
        assertEquals(got["write /var/lib/netmon"], "ok", `${set} writes its state`);
      });
    }),
);
