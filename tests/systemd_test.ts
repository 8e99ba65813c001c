/**
 * The examples a sysadmin installs: the report's and the nightly graph's
 * systemd services and timers checked by `systemd-analyze verify` (with
 * /usr/local/bin/netmon and netmon-graph in place in a sandbox, as the units
 * expect), the timers' calendars checked by systemd's own parser, the
 * graph drawn with its service's (empty) capability bounding set, and the
 * report's service's capability bounding set shown to be enough
 * for a report on iptables (both backends) and nftables, and not one
 * capability less (legacy iptables needs CAP_NET_RAW too).
 *
 * @module
 */

import { deepEqual as assertEquals, match, ok } from "node:assert/strict";
import {
  LEGACY_BINARIES,
  LEGACY_DOC_CONFIG,
  must,
  netmon,
  netnsTest,
  NFT_ONE_METER_CONFIG,
  ORIGINAL_DOC_CONFIG,
  run,
  withPair,
  withTempDir,
  writeConfig,
} from "./helpers.ts";
import { sandbox } from "./sandbox.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const EXAMPLES = `${ROOT}examples/`;
const service = Deno.readTextFileSync(`${EXAMPLES}netmon.service`);
const timer = Deno.readTextFileSync(`${EXAMPLES}netmon.timer`);
const graphService = Deno.readTextFileSync(`${EXAMPLES}netmon-graph.service`);
const graphTimer = Deno.readTextFileSync(`${EXAMPLES}netmon-graph.timer`);
const startService = Deno.readTextFileSync(`${EXAMPLES}netmon-start.service`);

/** The values of `key` in a unit file. */
function values(unit: string, key: string): string[] {
  return [...unit.matchAll(new RegExp(`^${key}=(.*)$`, "gm"))].map((m) => m[1] as string);
}

/**
 * What /usr/local/bin/netmon (or netmon-graph) is in the sandbox: the compiled binary when built, else the
 * executable script.
 */
function launcher(binary = "netmon", script = "netmon.ts"): string {
  try {
    Deno.statSync(`${ROOT}dist/${binary}`);
    return `${ROOT}dist/${binary}`;
  } catch {
    return `${ROOT}${script}`;
  }
}

netnsTest(
  "examples/netmon.service, netmon.timer, the graph's and netmon-start.service pass systemd-analyze verify with no warning",
  async () => {
    const units = [
      "netmon.service",
      "netmon.timer",
      "netmon-graph.service",
      "netmon-graph.timer",
      "netmon-start.service",
    ];
    const [good, broken] = await sandbox([
      { symlink: "/usr/local/bin/netmon", target: launcher() },
      { symlink: "/usr/local/bin/netmon-graph", target: launcher("netmon-graph", "graph.ts") },
      { run: ["systemd-analyze", "verify", "--man=no", ...units.map((u) => `${EXAMPLES}${u}`)], keep: true },
      // The check can fail: a misspelt key in a copy of the timer is reported.
      { write: "/etc/systemd/system/netmon.timer", text: timer.replace("Persistent=", "Persistant=") },
      { write: "/etc/systemd/system/netmon.service", text: service },
      {
        run: [
          "systemd-analyze",
          "verify",
          "--man=no",
          "/etc/systemd/system/netmon.service",
          "/etc/systemd/system/netmon.timer",
        ],
        keep: true,
      },
    ]);
    assertEquals([good?.code, good?.stdout, good?.stderr], [0, "", ""]);
    match(broken?.stderr ?? "", /Unknown key 'Persistant' in section \[Timer\]/);
  },
);

Deno.test("netmon.timer fires every 5 minutes on the clock, catches up after downtime, starts netmon.service", async () => {
  assertEquals(values(timer, "Persistent"), ["true"]);
  assertEquals(values(timer, "Unit"), ["netmon.service"]);
  assertEquals(values(timer, "WantedBy"), ["timers.target"]);
  const [calendar] = values(timer, "OnCalendar");
  const r = await run("systemd-analyze", ["calendar", "--iterations=4", calendar as string], {
    env: { TZ: "UTC", PATH: "/usr/bin:/bin", SYSTEMD_COLORS: "0" },
  });
  assertEquals(r.code, 0, r.stderr);
  const next = [...r.stdout.matchAll(/(?:Next elapse|Iter\. #\d+): \w+ (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) UTC/g)]
    .map((m) => Date.parse(`${(m[1] as string).replace(" ", "T")}Z`));
  assertEquals(next.length, 4, r.stdout);
  for (let i = 1; i < next.length; i++) assertEquals((next[i] as number) - (next[i - 1] as number), 5 * 60_000);
  for (const t of next) assertEquals(new Date(t).getUTCMinutes() % 5, 0);
});

Deno.test("netmon-graph.timer fires each night at 00:10, as netmon.cron's line, catches up, starts its service", async () => {
  assertEquals(values(graphTimer, "Persistent"), ["true"]);
  assertEquals(values(graphTimer, "Unit"), ["netmon-graph.service"]);
  assertEquals(values(graphTimer, "WantedBy"), ["timers.target"]);
  const [calendar] = values(graphTimer, "OnCalendar");
  const r = await run("systemd-analyze", ["calendar", "--iterations=3", calendar as string], {
    env: { TZ: "UTC", PATH: "/usr/bin:/bin", SYSTEMD_COLORS: "0" },
  });
  assertEquals(r.code, 0, r.stderr);
  const next = [...r.stdout.matchAll(/(?:Next elapse|Iter\. #\d+): \w+ (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) UTC/g)]
    .map((m) => m[1] as string);
  assertEquals(next.length, 3, r.stdout);
  for (const t of next) ok(t.endsWith(" 00:10:00"), t);
  const cron = Deno.readTextFileSync(`${EXAMPLES}netmon.cron`);
  const line = cron.split("\n").find((l) => l.startsWith("10 0 * * *"))?.replace(/^(\S+\s+){5}root\s+/, "");
  assertEquals(values(graphService, "ExecStart"), [line], "the cron example's graph line");
});

Deno.test("netmon-graph.service: the report service's hardening, without capabilities or network", () => {
  assertEquals(values(graphService, "CapabilityBoundingSet"), [""]);
  assertEquals(values(graphService, "RestrictAddressFamilies"), ["AF_UNIX"]);
  assertEquals(values(graphService, "ReadWritePaths"), ["/var/lib/netmon"]);
  const shared = (unit: string) =>
    unit.split("\n").filter((l) =>
      /^[A-Z]\w+=/.test(l) &&
      !/^(ExecStart|CapabilityBoundingSet|RestrictAddressFamilies|TimeoutStartSec|Description|After)=/.test(l)
    );
  assertEquals(shared(graphService), shared(service));
});

Deno.test("netmon.service: the hardening the README promises", () => {
  assertEquals(values(service, "ExecStart"), ["/usr/local/bin/netmon report"]);
  assertEquals(values(service, "CapabilityBoundingSet"), ["CAP_NET_ADMIN CAP_NET_RAW"]);
  assertEquals(values(service, "NoNewPrivileges"), ["yes"]);
  assertEquals(values(service, "ProtectSystem"), ["strict"]);
  assertEquals(values(service, "ReadWritePaths"), ["/var/lib/netmon"]);
  assertEquals(values(service, "StateDirectory"), ["netmon"]);
  // The JavaScript engine writes code it runs: this one would kill netmon at start.
  assertEquals(values(service, "MemoryDenyWriteExecute"), []);
  const families = values(service, "RestrictAddressFamilies")[0]?.split(" ") ?? [];
  for (const f of ["AF_NETLINK", "AF_INET", "AF_INET6", "AF_UNIX"]) ok(families.includes(f), f);
});

Deno.test("netmon-start.service: start at boot, after the firewall's rules, before the report, hardened as it", () => {
  assertEquals(values(startService, "ExecStart"), ["/usr/local/bin/netmon start"]);
  assertEquals(values(startService, "Type"), ["oneshot"]);
  assertEquals(values(startService, "RemainAfterExit"), ["yes"]);
  assertEquals(values(startService, "After"), ["nftables.service netfilter-persistent.service"]);
  assertEquals(values(startService, "Before"), ["netmon.service"]);
  assertEquals(values(startService, "WantedBy"), ["multi-user.target"]);
  assertEquals(values(startService, "ExecStartPre"), ["+/usr/bin/touch /run/xtables.lock"]);
  const shared = (unit: string) =>
    unit.split("\n").filter((l) =>
      /^[A-Z]\w+=/.test(l) &&
      !/^(Type|RemainAfterExit|ExecStartPre|ExecStart|Description|After|Before|WantedBy)=/.test(l)
    );
  assertEquals(shared(startService), shared(service));
  // The cron example's start at boot is the same command.
  const cron = Deno.readTextFileSync(`${EXAMPLES}netmon.cron`);
  assertEquals(
    cron.split("\n").find((l) => l.startsWith("@reboot "))?.replace(/^@reboot\s+root\s+/, ""),
    "/usr/local/bin/netmon start >/dev/null",
  );
});

/** setpriv with the service's bounding set (or `caps`) and no new privileges, as systemd would start netmon. */
const bounded = (caps: string) => ["setpriv", `--bounding-set=-all${caps}`, "--no-new-privs", "--"];

netnsTest(
  "the service's capabilities are enough to read counters, and CAP_NET_ADMIN is needed",
  () =>
    withPair((p) =>
      withTempDir(async (dir) => {
        const caps = values(service, "CapabilityBoundingSet")[0]?.split(" ").map((c) =>
          `,+${c.replace(/^CAP_/, "").toLowerCase()}`
        ).join("") ?? "";
        const backends = [
          ["nf", ORIGINAL_DOC_CONFIG, []],
          ["legacy", LEGACY_DOC_CONFIG, LEGACY_BINARIES],
          ["nft", NFT_ONE_METER_CONFIG, []],
        ] as const;
        for (const [name, text, programs] of backends) {
          const sub = `${dir}/${name}`;
          await Deno.mkdir(sub);
          const config = await writeConfig(sub, text);
          const o = {
            ns: p.a,
            dirs: [sub],
            env: { NETMON_CONFIG: config, NETMON_STATE_DIR: sub },
            run: programs,
          };
          const start = await netmon(["start"], o);
          assertEquals([start.code, start.stderr], [0, ""], name);
          const r = await netmon(["report"], { ...o, wrap: bounded(caps) });
          assertEquals([r.code, r.stderr], [0, ""], `${name} with ${caps}`);
          ok(r.stdout.startsWith("Last Total - Timestamp: "), r.stdout);
          const none = await netmon(["report"], { ...o, wrap: bounded(caps.replace(",+net_admin", "")) });
          assertEquals(none.code, 77, `${name} without CAP_NET_ADMIN: ${none.stderr}`);
          match(none.stderr, /needs root or CAP_NET_ADMIN/);
          if (name === "legacy") {
            // Legacy iptables reads its table through a raw socket: CAP_NET_RAW is why the service keeps it.
            const noRaw = await netmon(["report"], { ...o, wrap: bounded(caps.replace(",+net_raw", "")) });
            assertEquals(noRaw.code, 77, `legacy without CAP_NET_RAW: ${noRaw.stderr}`);
          }
          await netmon(["stop"], o);
        }
        await must("ip", ["netns", "exec", p.a, "iptables-legacy", "-F"]);
      })
    ),
);

netnsTest(
  "netmon-start.service: with /run read-only as the service has it, legacy iptables starts only with the lock made first",
  () =>
    withPair((p) =>
      withTempDir(async (dir) => {
        const config = await writeConfig(dir, LEGACY_DOC_CONFIG);
        const o = { ns: p.a, dirs: [dir], env: { NETMON_CONFIG: config, NETMON_STATE_DIR: dir }, run: LEGACY_BINARIES };
        // As systemd runs it: a fresh /run (as at boot), ExecStartPre's command (run outside the sandbox: '+'), then
        // /run read-only (ProtectSystem=strict; the unit makes only the state directory writable).
        const pre = (values(startService, "ExecStartPre")[0] ?? "").replace(/^\+/, "");
        assertEquals(pre, "/usr/bin/touch /run/xtables.lock");
        assertEquals(values(startService, "ReadWritePaths"), ["/var/lib/netmon"]);
        const asService = (made: boolean) => [
          "unshare",
          "--mount",
          "--propagation",
          "private",
          "sh",
          "-c",
          `mount -t tmpfs tmpfs /run && ${made ? `${pre} && ` : ""}mount -o remount,bind,ro /run && exec "$@"`,
          "sh",
        ];
        const caps = values(startService, "CapabilityBoundingSet")[0]?.split(" ").map((c) =>
          `,+${c.replace(/^CAP_/, "").toLowerCase()}`
        ).join("") ?? "";
        const without = await netmon(["start"], { ...o, wrap: [...asService(false), ...bounded(caps)] });
        assertEquals(without.code, 69, without.stderr);
        match(without.stderr, /can't open lock file \/run\/xtables\.lock: Read-only file system/);
        const started = await netmon(["start"], { ...o, wrap: [...asService(true), ...bounded(caps)] });
        assertEquals([started.code, started.stderr], [0, ""]);
        const status = await netmon(["status"], o);
        assertEquals(status.code, 0, status.stdout);
        await netmon(["stop"], o);
        await must("ip", ["netns", "exec", p.a, "iptables-legacy", "-F"]);
      })
    ),
);
