/**
 * Byte-for-byte compatibility with the 2010 scripts themselves (ported to
 * Python 3 in tests/original/), run side by side with netmon on the same
 * real iptables counters at the same frozen instants (libfaketime).
 */
import { deepEqual as assertEquals, ok } from "node:assert/strict";
import {
  fakeTimeEnv,
  must,
  netmon,
  netnsTest,
  ORIGINAL_DOC_CONFIG,
  removeFaketimeLeftovers,
  run,
  sendUdp,
  withFakedTime,
  withPair,
  withTempDir,
  writeConfig,
} from "./helpers.ts";

const ORIGINAL = new URL("./original/network_monitor.py", import.meta.url).pathname;
const GRAPH = new URL("./original/netmon_graph.py", import.meta.url).pathname;

/** Runs the original `command` (its report by default) in namespace `ns` at a frozen time. */
async function original(ns: string, stateDir: string, when: string, command = "report"): Promise<string> {
  const r = await run(
    "ip",
    ["netns", "exec", ns, ...withFakedTime(["python3", ORIGINAL, command], fakeTimeEnv(when))],
    {
      env: {
        PATH: Deno.env.get("PATH") ?? "/usr/sbin:/usr/bin",
        ORIG_STATE_DIR: stateDir,
        ORIG_PROXY: "198.51.100.10",
        ORIG_NETWORK: "198.51.100.0/24",
      },
    },
  );
  removeFaketimeLeftovers();
  if (r.code !== 0) throw new Error(`original exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}

const read = (path: string) => Deno.readTextFile(path);

/** Runs the original graph script on `log` in `dir`; returns the netmon_graph.dat it wrote. */
async function originalGraph(log: string, dir: string): Promise<string> {
  const r = await run("python3", [GRAPH, log], { cwd: dir });
  assertEquals(r.code, 0, r.stderr);
  return await read(`${dir}/netmon_graph.dat`);
}

netnsTest(
  "netmon writes the original's log, last file and report byte for byte, and continues its files",
  () =>
    withPair((p) =>
      withTempDir(async (dir) => {
        const config = await writeConfig(dir, ORIGINAL_DOC_CONFIG);
        const [orig, mine, mixed] = [`${dir}/orig`, `${dir}/netmon`, `${dir}/mixed`];
        for (const d of [orig, mine, mixed]) await Deno.mkdir(d);
        const o = { ns: p.a, dirs: [dir] };
        // netmon installs the rules: the original finds them as rules 1 and 2.
        assertEquals((await netmon(["start", "-c", config], o)).code, 0);
        await sendUdp(p.b, "198.51.100.1", 40, 1000);
        await sendUdp(p.b, "192.0.2.1", 1100, 1000);

        const t1 = "2010-02-25 10:00:00";
        const out1 = await original(p.a, orig, t1);
        await original(p.a, mixed, t1);
        const n1 = await netmon(["report", "-c", config, "-s", mine], { ...o, fakeTime: t1 });
        assertEquals([n1.code, n1.stderr], [0, ""]);
        assertEquals(n1.stdout, out1);
        ok(out1.includes("Proxied: 40.16K Off Network: 1.08M"), out1);

        await sendUdp(p.b, "198.51.100.1", 7, 1200);
        const t2 = "2010-02-26 00:05:09";
        const out2 = await original(p.a, orig, t2);
        const n2 = await netmon(["report", "-c", config, "-s", mine], { ...o, fakeTime: t2 });
        // netmon picks up the original's own files where it left off.
        const c2 = await netmon(["report", "-c", config, "-s", mixed], { ...o, fakeTime: t2 });
        assertEquals([n2.code, c2.code], [0, 0]);
        assertEquals(n2.stdout, out2);
        assertEquals(c2.stdout, out2);
        for (const f of ["netmon.log", "netmon.last"]) {
          assertEquals(await read(`${mine}/${f}`), await read(`${orig}/${f}`), f);
          assertEquals(await read(`${mixed}/${f}`), await read(`${orig}/${f}`), f);
        }
        assertEquals((await read(`${mine}/netmon.log`)).split("\n").length, 3);

        // The original graph script reads netmon's log and gives what it gives on its own log.
        assertEquals(await originalGraph(`${mine}/netmon.log`, dir), await originalGraph(`${orig}/netmon.log`, dir));
      })
    ),
);

netnsTest(
  "the original graph script still reads a two-meter log with other meter names (header skipped)",
  () =>
    withPair((p) =>
      withTempDir(async (dir) => {
        const config = await writeConfig(
          dir,
          ORIGINAL_DOC_CONFIG.replace('"proxy"', '"acme-in"').replace('"non-network"', '"acme-out"'),
        );
        const o = { ns: p.a, dirs: [dir] };
        assertEquals((await netmon(["start", "-c", config], o)).code, 0);
        for (const when of ["2010-03-01 00:00:00", "2010-03-02 00:00:00"]) {
          await sendUdp(p.b, "198.51.100.1", 10, 1000);
          assertEquals((await netmon(["-c", config, "-s", dir], { ...o, fakeTime: when })).code, 0);
        }
        const log = await read(`${dir}/netmon.log`);
        assertEquals(log.split("\n")[0], "# netmon meters:\tacme-in\tacme-out");
        const dat = (await originalGraph(`${dir}/netmon.log`, dir)).split("\n");
        assertEquals(dat[0], "Date\tProxy\tNon-Network");
        assertEquals(dat.slice(1, 3).map((l) => l.split("\t")[0]), ["2010/03/01-00:00:00", "2010/03/02-00:00:00"]);
        assertEquals(dat[2]?.split("\t")[1], "0.01");
      })
    ),
);

/** The filter table's rules in namespace `ns` as `iptables-save -c` prints them (`[p:b] -A …` lines). */
async function savedRules(ns: string): Promise<string[]> {
  const text = await must("ip", ["netns", "exec", ns, "iptables-save", "-c", "-t", "filter"]);
  return text.split("\n").filter((l) => l.startsWith("["));
}

netnsTest(
  "switching from the original: start takes its rules over with their counters, and the first report continues " +
    "its files as the original would have (no reset, the total-start kept, nothing unbilled)",
  () =>
    withPair((p) =>
      withTempDir(async (dir) => {
        const config = await writeConfig(dir, ORIGINAL_DOC_CONFIG);
        const [state, ref] = [`${dir}/state`, `${dir}/ref`];
        for (const d of [state, ref]) await Deno.mkdir(d);
        const o = { ns: p.a, dirs: [dir] };
        // The 2010 setup running: its rules, two reports.
        await original(p.a, state, "2010-02-25 09:00:00", "start");
        await sendUdp(p.b, "198.51.100.1", 40, 1000);
        await sendUdp(p.b, "192.0.2.1", 30, 1000);
        await original(p.a, state, "2010-02-25 10:00:00");
        await sendUdp(p.b, "192.0.2.1", 20, 1000);
        await original(p.a, state, "2010-02-25 11:00:00");
        // Traffic after its last report, then the switch: billed by the next report, as the original would.
        await sendUdp(p.b, "198.51.100.1", 7, 1200);
        await sendUdp(p.b, "192.0.2.1", 9, 1200);
        for (const f of ["netmon.log", "netmon.last"]) await Deno.copyFile(`${state}/${f}`, `${ref}/${f}`);
        const before = await savedRules(p.a);
        assertEquals(before.filter((l) => l.includes("-j DOWNLOADED")).length, 2, before.join("\n"));

        // Before the switch, status says start takes them over (and deleting them would lose their counts): the
        // start on the config and state directory it was given.
        const st = await netmon(["status", "-c", config, "-s", state], o);
        assertEquals(st.code, 69, JSON.stringify(st));
        const start = `deno task netmon start -c ${config} -s ${state}`;
        const takeover = (rule: string, meter: string) =>
          `rule ${rule} was not made by netmon (network_monitor.py's?) but jumps to its chain DOWNLOADED: it is meter ` +
          `${meter}'s rule without netmon's comment: run '${start}', which takes it over with its counters`;
        const script = [
          takeover("INPUT ! -s 198.51.100.0/24 -j DOWNLOADED", "non-network"),
          takeover("INPUT -s 198.51.100.10/32 -j DOWNLOADED", "proxy"),
        ];
        assertEquals(st.stderr, script.map((l) => `netmon: warning: ${l}\n`).join(""));
        ok(st.stdout.endsWith(`2 meters not installed: run '${start}'\n`), st.stdout);
        // doctor names both: netmon's rules missing, and the script's, which the same start takes over.
        const d = await netmon(["doctor", "--json", "-c", config, "-s", state], o);
        const rules =
          (JSON.parse(d.stdout) as { checks: { check: string; verdict: string; said: string; fix: string }[] })
            .checks.find((c) => c.check === "rules");
        assertEquals(rules?.verdict, "problem", d.stdout);
        assertEquals(
          rules?.said,
          "2 of 2 rules missing or not matching the config: proxy (INPUT), non-network (INPUT); " + script.join("; "),
        );
        assertEquals(
          rules?.fix,
          `run '${start}' (it keeps the rules already there and their counters, and takes over those not made by netmon)`,
        );
        const s = await netmon(["start", "-c", config, "-s", state], o);
        assertEquals([s.code, s.stderr], [0, ""], JSON.stringify(s));
        const counted = (l: string) => /^\[\d+:(\d+)\]/.exec(l)?.[1];
        const bytes = before.filter((l) => l.includes("-j DOWNLOADED")).map(counted);
        assertEquals(
          s.stdout,
          `take over rule INPUT -s 198.51.100.10/32 -j DOWNLOADED (not made by netmon: network_monitor.py's?) for ` +
            `meter proxy, with its counters (${bytes[1]} bytes)\n` +
            `take over rule INPUT ! -s 198.51.100.0/24 -j DOWNLOADED (not made by netmon: network_monitor.py's?) for ` +
            `meter non-network, with its counters (${bytes[0]} bytes)\n`,
        );
        const after = await savedRules(p.a);
        assertEquals(after.filter((l) => l.includes("-j DOWNLOADED") && !l.includes("netmon:")), [], after.join("\n"));
        assertEquals(after.filter((l) => l.includes("netmon:")).map(counted).sort(), [...bytes].sort());
        assertEquals(
          await netmon(["start", "-c", config, "-s", state], o).then((r) => r.stdout),
          "all 2 meters' rules are installed: nothing to change\n",
        );

        // The original's cron line is gone: netmon reports from now on, in the same files.
        await sendUdp(p.b, "198.51.100.1", 3, 1000);
        const when = "2010-02-25 12:00:00";
        const n = await netmon(["report", "-c", config, "-s", state], { ...o, fakeTime: when });
        assertEquals([n.code, n.stderr], [0, ""]);
        // The original, had it gone on, reads netmon's rules (still rules 1 and 2) and prints and writes the same.
        const expected = await original(p.a, ref, when);
        assertEquals(n.stdout, expected);
        ok(!n.stdout.includes("RESET"), n.stdout);
        for (const f of ["netmon.log", "netmon.last"]) {
          assertEquals(await read(`${state}/${f}`), await read(`${ref}/${f}`), f);
        }
        assertEquals((await read(`${state}/netmon.last`)).trimEnd().split("\t")[3], "2010/02/25-10:00:00");
      })
    ),
);

netnsTest(
  "the original's rules left beside netmon's: start, status and doctor name each with the iptables -D that " +
    "removes it, which works as printed; stop keeps the chain and names them all until then",
  () =>
    withPair((p) =>
      withTempDir(async (dir) => {
        const config = await writeConfig(dir, ORIGINAL_DOC_CONFIG);
        const state = `${dir}/state`;
        const o = { ns: p.a, dirs: [dir] };
        // netmon's rules first, then the original's start puts its own beside them (as after a switch that left them).
        assertEquals((await netmon(["start", "-c", config, "-s", state], o)).code, 0);
        await Deno.mkdir(`${dir}/orig`);
        await original(p.a, `${dir}/orig`, "2010-02-25 09:00:00", "start");
        const fixes = [
          "iptables -D INPUT ! -s 198.51.100.0/24 -j DOWNLOADED",
          "iptables -D INPUT -s 198.51.100.10/32 -j DOWNLOADED",
        ];
        const note = (fix: string) =>
          `leave rule ${fix.slice("iptables -D ".length)} alone: not made by netmon (network_monitor.py's?), it ` +
          "jumps to netmon's chain DOWNLOADED, so it counts on and keeps the chain from being deleted; remove it " +
          `with ${fix}, or give the config its address (from = …) to take it over with its counters`;
        const s = await netmon(["start", "-c", config, "-s", state], o);
        assertEquals([s.code, s.stderr], [0, ""]);
        assertEquals(
          s.stdout,
          "all 2 meters' rules are installed: nothing to change\n" + fixes.map(note).join("\n") + "\n",
        );

        const st = await netmon(["status", "-c", config], o);
        assertEquals(st.code, 0, JSON.stringify(st));
        assertEquals(
          st.stderr,
          fixes.map((f) =>
            `netmon: warning: rule ${f.slice("iptables -D ".length)} was not made by netmon (network_monitor.py's?) ` +
            `but jumps to its chain DOWNLOADED: remove it with ${f}, or give the config its address (from = …) to ` +
            "take it over with its counters\n"
          ).join(""),
        );

        const d = await netmon(["doctor", "--json", "-c", config, "-s", state], o);
        const rules =
          (JSON.parse(d.stdout) as { checks: { check: string; verdict: string; said: string; fix: string }[] })
            .checks.find((c) => c.check === "rules");
        assertEquals(rules?.verdict, "problem", d.stdout);
        ok(
          rules?.said.startsWith(`rule ${fixes[0]?.slice("iptables -D ".length)} was not made by netmon`),
          rules?.said,
        );
        // The command said once, in the fix.
        assertEquals(
          rules?.said,
          fixes.map((f) =>
            `rule ${f.slice("iptables -D ".length)} was not made by netmon (network_monitor.py's?) but jumps to its ` +
            "chain DOWNLOADED"
          ).join("; "),
        );
        assertEquals(
          rules?.fix,
          `${fixes.join(" && ")} (or give the config their addresses (from = …) to take them over with their counters)`,
        );

        const kept = "keep chain DOWNLOADED: 2 rule(s) not made by netmon jump to it (INPUT ! -s 198.51.100.0/24 -j " +
          "DOWNLOADED; INPUT -s 198.51.100.10/32 -j DOWNLOADED): remove them with " + fixes.join(" && ");
        const dry = await netmon(["stop", "--dry-run", "-c", config, "-s", state], o);
        ok(dry.stdout.includes(`would ${kept}\n`), dry.stdout);

        // The fix as printed.
        const fixed = await run("ip", ["netns", "exec", p.a, "sh", "-c", fixes.join(" && ")]);
        assertEquals([fixed.code, fixed.stderr], [0, ""]);
        const again = await netmon(["start", "-c", config, "-s", state], o);
        assertEquals(again.stdout, "all 2 meters' rules are installed: nothing to change\n");
        assertEquals((await netmon(["status", "-c", config], o)).stderr, "");
        const stop = await netmon(["stop", "-c", config, "-s", state], o);
        assertEquals([stop.code, stop.stderr], [0, ""]);
        ok(stop.stdout.endsWith("delete chain DOWNLOADED\n"), stop.stdout);
      })
    ),
);

netnsTest(
  "a rule not made by netmon that two meters share the match of: status, start --dry-run and start name the same " +
    "meter, the first in the config, and start gives it the rule's counters",
  () =>
    withPair(
      (p) =>
        withTempDir(async (dir) => {
          // Two meters of one match (a reseller's and its customer's), and a rule of that match without netmon's comment.
          const config = await writeConfig(
            dir,
            'source = "iptables"\nchain = "DOWNLOADED"\n[[meter]]\nname = "reseller"\nfrom = "192.0.2.2"\n' +
              '[[meter]]\nname = "customer"\nfrom = "192.0.2.2"\n',
          );
          const state = `${dir}/state`;
          const o = { ns: p.a, dirs: [dir] };
          await must("ip", ["netns", "exec", p.a, "iptables", "-N", "DOWNLOADED"]);
          await must("ip", ["netns", "exec", p.a, "iptables", "-A", "INPUT", "-s", "192.0.2.2", "-j", "DOWNLOADED"]);
          const sent = await sendUdp(p.b, "192.0.2.1", 10, 500);
          const rule = "INPUT -s 192.0.2.2/32 -j DOWNLOADED";
          const st = await netmon(["status", "-c", config, "-s", state], o);
          assertEquals(st.code, 69, JSON.stringify(st));
          assertEquals(
            st.stderr,
            `netmon: warning: rule ${rule} was not made by netmon (network_monitor.py's?) but jumps to its chain ` +
              `DOWNLOADED: it is meter reseller's rule without netmon's comment: run 'deno task netmon start -c ` +
              `${config} -s ${state}', which takes it over with its counters\n`,
          );
          const takeover =
            `take over rule ${rule} (not made by netmon: network_monitor.py's?) for meter reseller, with ` +
            "its counters";
          const dry = await netmon(["start", "--dry-run", "-c", config, "-s", state], o);
          assertEquals(dry.code, 0, JSON.stringify(dry));
          ok(dry.stdout.includes(`would ${takeover}`), dry.stdout);
          const s = await netmon(["start", "-c", config, "-s", state], o);
          assertEquals([s.code, s.stderr], [0, ""], JSON.stringify(s));
          ok(s.stdout.includes(takeover), s.stdout);
          const counted = (meter: string) =>
            savedRules(p.a).then((rules) =>
              rules.filter((l) => l.includes(`"netmon:${meter}"`)).map((l) => /^\[\d+:(\d+)\]/.exec(l)?.[1])
            );
          const [reseller] = await counted("reseller");
          ok(Number(reseller) >= sent, `reseller's rule carries the ${sent} bytes counted: ${reseller}`);
          assertEquals(await counted("customer"), ["0"], "customer's rule is new");
        }),
      "nmsmall",
    ),
);
