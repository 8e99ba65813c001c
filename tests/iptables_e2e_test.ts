/**
 * End to end against the real iptables, in namespaces the tests create and
 * delete: start, traffic, report, stop, resets.
 */
import { deepEqual as assertEquals, ok } from "node:assert/strict";
import { humanReadable } from "../lib/usage/units.ts";
import {
  iptablesCounters,
  must,
  netmon,
  netnsTest,
  ORIGINAL_DOC_CONFIG,
  type Pair,
  sendUdp,
  withPair,
  withTempDir,
  writeConfig,
} from "./helpers.ts";

function lastLogLine(log: string): string[] {
  const lines = log.trimEnd().split("\n").filter((l) => !l.startsWith("#"));
  return (lines.at(-1) ?? "").split("\t");
}

for (const backend of ["nft", "legacy"] as const) {
  const suffix = backend === "nft" ? "" : "-legacy";
  const ipt = `iptables${suffix}`;
  const save = `iptables${suffix}-save`;
  const binaries = `[binaries]
iptables = "/usr/sbin/${ipt}"
iptables_save = "/usr/sbin/${save}"
iptables_restore = "/usr/sbin/iptables${suffix}-restore"
`;
  /** The original setup on this backend, and netmon's run options with only its permissions. */
  const setup = async (p: Pair, dir: string) => ({
    config: await writeConfig(dir, ORIGINAL_DOC_CONFIG.replace("[[meter]]", binaries + "\n[[meter]]")),
    o: {
      ns: p.a,
      permissions: [
        `--allow-run=/usr/sbin/${ipt},/usr/sbin/${save},/usr/sbin/iptables${suffix}-restore,/usr/bin/stat`,
        `--allow-read=${dir}`,
        `--allow-write=${dir}`,
        "--allow-env=NETMON_CONFIG,NETMON_STATE_DIR,XDG_STATE_HOME,HOME,NETMON_TEST_BOOT_TIME",
        "--allow-sys=uid,osUptime",
      ],
    },
  });

  const save6 = `ip6tables${suffix}-save`;
  /** [binaries] for both families on this backend. */
  const dualBinaries = `${binaries}ip6tables = "/usr/sbin/ip6tables${suffix}"
ip6tables_save = "/usr/sbin/${save6}"
ip6tables_restore = "/usr/sbin/ip6tables${suffix}-restore"
`;
  /** netmon's run options in namespace a with both families' programs of this backend. */
  const dualOptions = (p: Pair, dir: string) => ({
    ns: p.a,
    permissions: [
      `--allow-run=${
        [ipt, save, `iptables${suffix}-restore`, `ip6tables${suffix}`, save6, `ip6tables${suffix}-restore`]
          .map((b) => `/usr/sbin/${b}`).join(",")
      },/usr/bin/stat`,
      `--allow-read=${dir}`,
      `--allow-write=${dir}`,
      "--allow-env=NETMON_CONFIG,NETMON_STATE_DIR,XDG_STATE_HOME,HOME,NETMON_TEST_BOOT_TIME",
      "--allow-sys=uid,osUptime",
    ],
  });

  netnsTest(
    `[${backend}] start, traffic, report: the log holds exactly what iptables counted`,
    () =>
      withPair((p) =>
        withTempDir(async (dir) => {
          const { config, o } = await setup(p, dir);
          const start = await netmon(["start", "-c", config], o);
          assertEquals([start.code, start.stderr], [0, ""]);
          const proxySent = await sendUdp(p.b, "198.51.100.1", 200, 1000);
          const otherSent = await sendUdp(p.b, "192.0.2.1", 300, 500);
          const r = await netmon(["report", "-c", config, "-s", `${dir}/state`], o);
          assertEquals([r.code, r.stderr], [0, ""]);
          const kernel = await iptablesCounters(p.a, save);
          const [, proxy, other] = lastLogLine(await Deno.readTextFile(`${dir}/state/netmon.log`));
          assertEquals([BigInt(proxy!), BigInt(other!)], [kernel.get("proxy"), kernel.get("non-network")]);
          ok(BigInt(proxy!) >= BigInt(proxySent), `proxy ${proxy} < ${proxySent} sent`);
          ok(BigInt(other!) >= BigInt(otherSent), `non-network ${other} < ${otherSent} sent`);
          // Nothing else crossed INPUT from those sources, so IPv4 counts them exactly.
          assertEquals([Number(proxy), Number(other)], [proxySent, otherSent]);
          const usage = `Proxied: ${humanReadable(BigInt(proxySent))} Off Network: ${
            humanReadable(BigInt(otherSent))
          }\n`;
          ok(r.stdout.split("\n")[2]?.startsWith("New Usage - Timestamp: ") && r.stdout.endsWith(usage), r.stdout);
        })
      ),
  );

  netnsTest(
    `[${backend}] start twice leaves one copy of each rule and keeps its counters`,
    () =>
      withPair((p) =>
        withTempDir(async (dir) => {
          const { config, o } = await setup(p, dir);
          assertEquals((await netmon(["start", "-c", config], o)).code, 0);
          await sendUdp(p.b, "198.51.100.1", 10, 100);
          const before = await iptablesCounters(p.a, save);
          const again = await netmon(["INITIALISE", "-c", config], o);
          assertEquals(again.code, 0);
          assertEquals(again.stdout, "all 2 meters' rules are installed: nothing to change\n");
          const rules = (await must("ip", ["netns", "exec", p.a, save, "-t", "filter"])).split("\n");
          assertEquals(rules.filter((l) => l.includes("netmon:")).length, 2);
          assertEquals(await iptablesCounters(p.a, save), before);
          ok((before.get("proxy") ?? 0n) > 0n);
        })
      ),
  );

  netnsTest(
    `[${backend}] a rule copied by hand is counted once and reported; one narrowed by hand is refused`,
    () =>
      withPair((p) =>
        withTempDir(async (dir) => {
          const { config, o } = await setup(p, dir);
          assertEquals((await netmon(["start", "-c", config], o)).code, 0);
          const ns = ["netns", "exec", p.a, ipt];
          const spec = ["-s", "198.51.100.10/32", "-m", "comment", "--comment", "netmon:proxy", "-j", "DOWNLOADED"];
          await sendUdp(p.b, "198.51.100.1", 10, 100);
          await must("ip", [...ns, "-A", "INPUT", ...spec]);
          await sendUdp(p.b, "198.51.100.1", 5, 100);
          // netmon's rule saw all 15 datagrams, the copy the last 5: the report counts netmon's alone.
          const r = await netmon(["-c", config, "-s", dir], o);
          assertEquals(r.code, 0, r.stderr);
          assertEquals(
            r.stderr,
            `netmon: warning: proxy has 1 extra rule(s) in INPUT, not counted: run 'deno task netmon start -c ${config} -s ${dir}' to repair\n`,
          );
          const [, proxy] = lastLogLine(await Deno.readTextFile(`${dir}/netmon.log`));
          assertEquals(proxy, String(15 * (100 + 28)));
          // Both copies replaced by one that also matches the protocol: not netmon's rule any more.
          await must("ip", [...ns, "-D", "INPUT", ...spec]);
          await must("ip", [...ns, "-D", "INPUT", ...spec]);
          await must("ip", [...ns, "-I", "INPUT", "1", "-p", "udp", ...spec]);
          const narrowed = await netmon(["-c", config, "-s", dir], o);
          assertEquals(narrowed.code, 69, narrowed.stderr);
          ok(
            /^netmon: meter proxy: the installed rule in INPUT also matches -p udp.*, which netmon's rules never do: run '.*' to update the rules\n$/
              .test(narrowed.stderr) && narrowed.stderr.includes(`run 'deno task netmon start -c ${config} -s ${dir}'`),
            narrowed.stderr,
          );
          assertEquals((await netmon(["start", "-c", config], o)).code, 0);
          const repaired = await netmon(["-c", config, "-s", dir], o);
          assertEquals([repaired.code, repaired.stderr], [0, ""]);
        })
      ),
  );

  netnsTest(
    `[${backend}] stop removes exactly netmon's rules and chain, never a foreign rule`,
    () =>
      withPair((p) =>
        withTempDir(async (dir) => {
          const { config, o } = await setup(p, dir);
          await must("ip", ["netns", "exec", p.a, ipt, "-A", "INPUT", "-s", "203.0.113.7", "-j", "ACCEPT"]);
          await must("ip", [
            "netns",
            "exec",
            p.a,
            ipt,
            "-A",
            "OUTPUT",
            "-d",
            "192.0.2.2",
            "-m",
            "comment",
            "--comment",
            "netmon-like but not ours",
            "-j",
            "ACCEPT",
          ]);
          const foreignBefore = (await must("ip", ["netns", "exec", p.a, save, "-t", "filter"])).split("\n").filter((
            l,
          ) => l.startsWith("-A"));
          assertEquals((await netmon(["start", "-c", config], o)).code, 0);
          const dry = await netmon(["stop", "--dry-run", "-c", config], o);
          assertEquals(dry.code, 0);
          ok(
            dry.stdout.includes("would run: /usr/sbin/") && dry.stdout.includes("-X DOWNLOADED\nCOMMIT\n"),
            dry.stdout,
          );
          assertEquals((await iptablesCounters(p.a, save)).size, 2, "dry run changed nothing");
          const stop = await netmon(["flush", "-c", config], o);
          assertEquals([stop.code, stop.stderr], [0, ""]);
          const after = await must("ip", ["netns", "exec", p.a, save, "-t", "filter"]);
          assertEquals(after.split("\n").filter((l) => l.startsWith("-A")), foreignBefore);
          ok(!after.includes(":DOWNLOADED"), after);
          const again = await netmon(["stop", "-c", config], o);
          assertEquals(again.stdout, "no netmon rules are installed: nothing to change\n");
        })
      ),
  );

  netnsTest(
    `[${backend}] dual stack: IPv4 rules in iptables, IPv6 in ip6tables, a meter's value their sum`,
    () =>
      withPair((p) =>
        withTempDir(async (dir) => {
          const config = await writeConfig(
            dir,
            `${dualBinaries}
[[meter]]
name = "dual"
from = ["192.0.2.2", "2001:db8::2"]

[[meter]]
name = "cust"
address = ["192.0.2.1", "2001:db8::1"]
direction = "in"
split = ["direction", "family"]
`,
          );
          const o = dualOptions(p, dir);
          await must("ip", [
            "netns",
            "exec",
            p.a,
            `ip6tables${suffix}`,
            "-A",
            "INPUT",
            "-s",
            "2001:db8::99",
            "-j",
            "ACCEPT",
          ]);
          for (let i = 0; i < 2; i++) {
            const s = await netmon(["start", "-c", config], o);
            assertEquals([s.code, s.stderr], [0, ""]);
          }
          const ours = async (b: string) =>
            (await must("ip", ["netns", "exec", p.a, b, "-t", "filter"])).split("\n").filter((l) =>
              l.includes("netmon:")
            );
          // dual: one rule per family; cust-inbound-*: INPUT and FORWARD per family.
          assertEquals((await ours(save)).length, 3, "IPv4 rules, once each after two starts");
          assertEquals((await ours(save6)).length, 3, "IPv6 rules, once each after two starts");
          ok((await ours(save6)).some((l) => l.includes("-s 2001:db8::2/128") && l.includes('"netmon:dual"')));
          const v4 = await sendUdp(p.b, "192.0.2.1", 25, 400);
          const v6 = await sendUdp(p.b, "2001:db8::1", 15, 300);
          const r = await netmon(["report", "-c", config, "-s", dir], o);
          assertEquals([r.code, r.stderr], [0, ""]);
          const k4 = await iptablesCounters(p.a, save);
          const k6 = await iptablesCounters(p.a, save6);
          const log = await Deno.readTextFile(`${dir}/netmon.log`);
          assertEquals(log.split("\n")[0], "# netmon meters:\tdual\tcust-inbound-v4\tcust-inbound-v6");
          const [, dual, c4, c6] = lastLogLine(log).map((x) => x && /^\d+$/.test(x) ? BigInt(x) : x);
          assertEquals(dual, k4.get("dual")! + k6.get("dual")!, "the sum of both families' rules");
          assertEquals([c4, c6], [k4.get("cust-inbound-v4"), k6.get("cust-inbound-v6")]);
          assertEquals(k4.get("dual"), BigInt(v4), "IPv4 from b is exactly the datagrams");
          ok(k6.get("dual")! >= BigInt(v6), "IPv6 adds neighbour discovery, never less");
          const stop = await netmon(["stop", "-c", config], o);
          assertEquals([stop.code, stop.stderr], [0, ""]);
          assertEquals([(await ours(save)).length, (await ours(save6)).length], [0, 0]);
          ok(
            (await must("ip", ["netns", "exec", p.a, save6, "-t", "filter"])).includes(
              "-A INPUT -s 2001:db8::99/128 -j ACCEPT",
            ),
          );
        })
      ),
  );

  netnsTest(
    `[${backend}] IPv6 leaves the config: start clears its rules and chain from ip6tables; stop clears them too`,
    () =>
      withPair((p) =>
        withTempDir(async (dir) => {
          const families = dualBinaries;
          // One config file, edited between the steps (another file would be another config: see
          // shared_state_e2e_test.ts).
          const dual = `${families}\n[[meter]]\nname = "b"\nfrom = ["192.0.2.2", "2001:db8::2"]\n`;
          const v4 = `${families}\n[[meter]]\nname = "b"\nfrom = "192.0.2.2"\n`;
          const file = await writeConfig(dir, dual);
          const as = async (text: string) => (await Deno.writeTextFile(file, text), file);
          const o = dualOptions(p, dir);
          const rulesOf = async (b: string) => await must("ip", ["netns", "exec", p.a, b, "-t", "filter"]);
          const ours = async (b: string) => (await rulesOf(b)).split("\n").filter((l) => l.includes("netmon:"));
          for (const [step, config] of [["start", dual], ["start", v4], ["start", dual], ["stop", v4]] as const) {
            const r = await netmon([step, "-c", await as(config)], o);
            assertEquals([r.code, r.stderr], [0, ""], `${step} ${config === dual ? "dual" : "v4"}`);
            const v6Left = await ours(save6);
            if (config === dual) {
              assertEquals(v6Left.length, 1, "the IPv6 rule is installed");
              continue;
            }
            assertEquals(v6Left, [], `${step} with IPv4 meters only leaves no netmon rule in ip6tables`);
            ok(
              r.stdout.includes(`remove ${step === "start" ? "stale rule" : "rule"} of b from INPUT (IPv6)`),
              r.stdout,
            );
            ok(r.stdout.includes("delete chain DOWNLOADED (IPv6)"), r.stdout);
            ok(!(await rulesOf(save6)).includes(":DOWNLOADED"), "the IPv6 chain is gone");
            // start keeps the IPv4 rule (and its counter); stop removes it.
            assertEquals((await ours(save)).length, step === "start" ? 1 : 0);
          }
          // A family whose program netmon may not run, or that fails, is left alone, silently.
          await netmon(["start", "-c", await as(dual)], o);
          const denied = { ...o, permissions: o.permissions.map((f) => f.replace(`,/usr/sbin/${save6}`, "")) };
          const r = await netmon(["start", "-c", await as(v4)], denied);
          assertEquals([r.code, r.stderr, r.stdout], [0, "", "all 1 meters' rules are installed: nothing to change\n"]);
          assertEquals((await ours(save6)).length, 1, "not allowed to read ip6tables: not touched");
          await as(v4.replace(`/usr/sbin/${save6}`, "/bin/false"));
          const f = await netmon(["start", "-c", file], { ...o, permissions: [...o.permissions, "--allow-run"] });
          assertEquals([f.code, f.stderr], [0, ""]);
          assertEquals((await ours(save6)).length, 1, "ip6tables-save failing: not touched");
        })
      ),
  );

  netnsTest(
    `[${backend}] iptables -Z between two reports is a reset, never negative usage`,
    () =>
      withPair((p) =>
        withTempDir(async (dir) => {
          const { config, o } = await setup(p, dir);
          const args = ["report", "-c", config, "-s", dir];
          assertEquals((await netmon(["start", "-c", config], o)).code, 0);
          await sendUdp(p.b, "198.51.100.1", 50, 1000);
          await sendUdp(p.b, "192.0.2.1", 50, 1000);
          assertEquals((await netmon(args, o)).code, 0);
          await must("ip", ["netns", "exec", p.a, ipt, "-Z"]);
          const small = await sendUdp(p.b, "192.0.2.1", 3, 100);
          const r = await netmon(args, o);
          assertEquals([r.code, r.stderr], [0, ""]);
          const lines = r.stdout.split("\n");
          assertEquals(
            lines[2]?.replace(/Timestamp: \S+/, "Timestamp: T"),
            `New Usage - Timestamp: T Proxied: 0 Off Network: ${small}`,
          );
          ok(lines[3]?.startsWith("== RESET DETECTED! == counter went down: Proxied, Off Network;"), r.stdout);
          const last = (await Deno.readTextFile(`${dir}/netmon.last`)).trimEnd().split("\t");
          assertEquals(last[3], last[0], "the total-start stamp moved to the reset");
        })
      ),
  );
}

netnsTest(
  "meters on OUTPUT and FORWARD with interfaces, and a meter removed from the config",
  () =>
    withPair((p) =>
      withTempDir(async (dir) => {
        const three = await writeConfig(
          dir,
          `[[meter]]
name = "in-b"
in = "${p.va}"
from = "192.0.2.2"
[[meter]]
name = "out-b"
hook = "output"
out = "${p.va}"
to = "192.0.2.0/24"
[[meter]]
name = "forwarded"
hook = "FORWARD"
in = "!${p.va}"
`,
          "three.toml",
        );
        const o = { ns: p.a, dirs: [dir] };
        assertEquals((await netmon(["start", "-c", three], o)).code, 0);
        await sendUdp(p.b, "192.0.2.1", 20, 100);
        const r = await netmon(["report", "-c", three, "-s", dir], o);
        assertEquals([r.code, r.stderr], [0, ""]);
        const log = await Deno.readTextFile(`${dir}/netmon.log`);
        assertEquals(log.split("\n")[0], "# netmon meters:\tin-b\tout-b\tforwarded");
        const kernel = await iptablesCounters(p.a);
        const [, inB, outB, fwd] = lastLogLine(log);
        assertEquals([inB, outB, fwd], [kernel.get("in-b"), kernel.get("out-b"), kernel.get("forwarded")].map(String));
        assertEquals(inB, String(20 * 128));
        ok(Number(outB) > 0, "ICMP port-unreachable replies went out");
        // Drop a meter from the config: start removes its rule, keeps the others, and the log gets a new header.
        const two = await writeConfig(
          dir,
          (await Deno.readTextFile(three)).split('[[meter]]\nname = "forwarded"')[0]!,
          "three.toml",
        );
        const s = await netmon(["start", "-c", two], o);
        ok(
          s.stdout.includes("remove stale rule of forwarded from FORWARD") &&
            s.stdout.includes("keep 2 installed rules"),
          s.stdout,
        );
        assertEquals((await netmon(["report", "-c", two, "-s", dir], o)).code, 0);
        const lines = (await Deno.readTextFile(`${dir}/netmon.log`)).trimEnd().split("\n");
        assertEquals(lines.length, 4);
        assertEquals(lines[2], "# netmon meters:\tin-b\tout-b");
        assertEquals(lastLogLine(lines.join("\n")).slice(1), [inB, lastLogLine(lines.join("\n"))[2]]);
      })
    ),
);

netnsTest(
  "no config: the interface source reports a veth's bytes as the kernel counts them",
  () =>
    withPair((p) =>
      withTempDir(async (dir) => {
        const o = { ns: p.a, dirs: [dir], env: { NETMON_CONFIG: "" } };
        const sent = await sendUdp(p.b, "192.0.2.1", 100, 1000);
        const sysfs = async () =>
          BigInt(
            (await must("ip", ["netns", "exec", p.a, "cat", `/sys/class/net/${p.va}/statistics/rx_bytes`])).trim(),
          );
        const before = await sysfs();
        const r = await netmon(["-s", dir], o);
        const after = await sysfs();
        assertEquals([r.code, r.stderr], [0, ""]);
        const log = (await Deno.readTextFile(`${dir}/netmon.log`)).split("\n");
        assertEquals(log[0], `# netmon meters:\t${p.va}:rx\t${p.va}:tx`);
        const rx = BigInt(log[1]!.split("\t")[1]!);
        ok(rx >= before && rx <= after, `${rx} not within ${before}..${after}`);
        ok(rx >= BigInt(sent), `${rx} < ${sent} sent`);
        ok(r.stdout.startsWith(`Last Total - Timestamp: `) && r.stdout.includes(` ${p.va}:rx: `), r.stdout);
        const st = await netmon(["status", "-s", dir], o);
        assertEquals(st.code, 0);
        ok(st.stdout.includes(`${p.va}:rx  ${p.va} received`), st.stdout);
      })
    ),
);
