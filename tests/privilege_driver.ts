/**
 * Runs as root inside a private mount namespace (and a network namespace),
 * made by tests/privilege_test.ts: puts fresh tmpfs over /etc/netmon and
 * /var/lib/netmon, the paths the permission sets name, then runs netmon and
 * the probe with exactly each set. Prints the outcomes as JSON.
 *
 * @module
 */
// deno-lint-ignore-file no-console

const ROOT = new URL("..", import.meta.url).pathname;
const dec = new TextDecoder();

function sh(cmd: string, args: string[], env: Record<string, string> = {}) {
  const out = new Deno.Command(cmd, {
    args,
    env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", HOME: "/root", NO_COLOR: "1", ...env },
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).outputSync();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

for (const dir of ["/etc/netmon", "/var/lib/netmon"]) {
  const r = sh("mount", ["-t", "tmpfs", "-o", "mode=0755", "tmpfs", dir]);
  if (r.code !== 0) throw new Error(`mount ${dir}: ${r.stderr}`);
}
Deno.writeTextFileSync(
  "/etc/netmon/netmon.toml",
  'source = "nftables"\n[[meter]]\nname = "b"\nfrom = "192.0.2.2"\n',
);

const deno = (set: string, script: string, args: string[], env: Record<string, string> = {}) =>
  sh(Deno.execPath(), [
    "run",
    "-q",
    "--no-prompt",
    "--frozen",
    "--config",
    `${ROOT}deno.json`,
    `-P=${set}`,
    script,
    ...args,
  ], {
    ...(Deno.env.get("DENO_DIR") ? { DENO_DIR: Deno.env.get("DENO_DIR") as string } : {}),
    NETMON_SMTP_PASSWORD: "probe-secret",
    ...env,
  });
const probe = (set: string) => JSON.parse(deno(set, `${ROOT}tests/privilege_probe.ts`, []).stdout);
const mode = (path: string) => (Deno.statSync(path).mode ?? 0) & 0o777;

const result: Record<string, unknown> = {};
result.start = deno("netmon-admin", `${ROOT}netmon.ts`, ["start"]);
result.report = deno("netmon", `${ROOT}netmon.ts`, ["report"]);
result.report2 = deno("netmon", `${ROOT}netmon.ts`, ["report"]);
result.startUnderReportSet = deno("netmon", `${ROOT}netmon.ts`, ["start"]);
result.graph = deno("graph", `${ROOT}graph.ts`, [
  "-o",
  "/var/lib/netmon/usage.dat",
  "--plot",
  "/var/lib/netmon/usage.png",
]);
result.graphElsewhere = deno("graph", `${ROOT}graph.ts`, ["-o", "/tmp/netmon-usage.dat"]);
result.modes = Object.fromEntries(
  [
    "/var/lib/netmon/netmon.log",
    "/var/lib/netmon/netmon.last",
    "/var/lib/netmon/netmon.lock",
  ]
    .map((p) => [p, mode(p)]),
);
result.probes = { netmon: probe("netmon"), "netmon-admin": probe("netmon-admin"), graph: probe("graph") };
result.stop = deno("netmon-admin", `${ROOT}netmon.ts`, ["stop"]);
console.log(JSON.stringify(result));
