/**
 * Least privilege: netmon run with exactly each permission set of deno.json
 * does its job, and with that same set everything else (reading outside its
 * config and state, writing elsewhere, running other programs, opening
 * network connections, other environment variables, FFI) is denied. Runs in
 * a network namespace and a private mount namespace with tmpfs over
 * /etc/netmon and /var/lib/netmon, so the machine's own are never touched.
 */
import { deepEqual as assertEquals, ok } from "node:assert/strict";
import { must, netnsTest, run, sendUdp, withPair } from "./helpers.ts";

const DRIVER = new URL("./privilege_driver.ts", import.meta.url).pathname;

netnsTest(
  "each permission set allows its job and nothing else; state files are 0640 or tighter",
  () =>
    withPair(async (p) => {
      // Mount points must exist; make them if this machine has none, and remove only what was made here.
      const made: string[] = [];
      for (const dir of ["/etc/netmon", "/var/lib/netmon"]) {
        try {
          await Deno.mkdir(dir);
          made.push(dir);
        } catch (e) {
          if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
        }
      }
      try {
        await sendUdp(p.b, "192.0.2.1", 1, 10);
        const r = await run("ip", [
          "netns",
          "exec",
          p.a,
          "unshare",
          "--mount",
          "--propagation",
          "private",
          Deno.execPath(),
          "run",
          "-A",
          DRIVER,
        ], {
          env: {
            PATH: "/usr/sbin:/usr/bin:/sbin:/bin",
            ...(Deno.env.get("DENO_DIR") ? { DENO_DIR: Deno.env.get("DENO_DIR")! } : {}),
          },
        });
        assertEquals(r.code, 0, r.stderr);
        const res = JSON.parse(r.stdout);
        for (const step of ["start", "report", "report2", "graph", "stop"]) {
          assertEquals([res[step].code, res[step].stderr], [0, ""], `${step}: ${JSON.stringify(res[step])}`);
        }
        ok(res.report2.stdout.startsWith("Last Total - Timestamp: "), res.report2.stdout);
        // The report set cannot change the firewall: it may not run iptables-save/-restore... nor nft? It may run nft (to read).
        assertEquals(
          res.startUnderReportSet.code,
          0,
          "nft is in the report set to read; start then finds nothing to change",
        );
        assertEquals(
          [res.graphElsewhere.code, res.graphElsewhere.stderr],
          [
            77,
            "graph: Deno denied write access to /tmp: run it with --allow-write=/tmp (or a permission set from deno.json)\n",
          ],
        );
        for (const [path, mode] of Object.entries(res.modes as Record<string, number>)) {
          ok((mode & 0o027) === 0, `${path} has mode ${mode.toString(8)}: group may not write, others nothing`);
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
        const want = {
          netmon: {
            denied: [...denied, "write /etc/netmon", "run /usr/sbin/iptables-restore", "run /usr/bin/gnuplot"],
          },
          "netmon-admin": { denied: [...denied, "write /etc/netmon", "run /usr/bin/gnuplot"] },
          graph: {
            denied: [...denied, "write /etc/netmon", "run /usr/sbin/iptables-restore", "env NETMON_SMTP_PASSWORD"],
          },
        };
        for (const [set, { denied: list }] of Object.entries(want)) {
          const got = res.probes[set] as Record<string, string>;
          for (const op of list) assertEquals(got[op], "denied", `${set}: ${op} should be denied`);
          assertEquals(got["read /etc/netmon/netmon.toml"], "ok", `${set} reads its config`);
          assertEquals(got["write /var/lib/netmon"], "ok", `${set} writes its state`);
        }
      } finally {
        for (const dir of made.reverse()) await Deno.remove(dir).catch(() => {});
      }
      await must("true", []);
    }),
);
