/**
 * Run under a permission set (`deno run --config deno.json -P=SET`), tries
 * what netmon must not do and what it may, and prints each outcome as JSON:
 * "ok", "denied" (Deno refused) or the error's name.
 *
 * @module
 */
// deno-lint-ignore-file no-console

const tries: Record<string, () => unknown> = {
  "read /etc/shadow": () => Deno.readTextFileSync("/etc/shadow"),
  "read /root": () => [...Deno.readDirSync("/root")],
  "write /tmp": () => Deno.writeTextFileSync(`/tmp/netmon-probe-${Deno.pid}`, "x"),
  "write /etc/netmon": () => Deno.writeTextFileSync("/etc/netmon/probe", "x"),
  "run /bin/sh": () => new Deno.Command("/bin/sh", { args: ["-c", "true"] }).outputSync(),
  "run /usr/bin/env": () => new Deno.Command("/usr/bin/env").outputSync(),
  "run /usr/sbin/iptables-restore": () =>
    new Deno.Command("/usr/sbin/iptables-restore", { args: ["--help"] }).outputSync(),
  "run /usr/bin/gnuplot": () => new Deno.Command("/usr/bin/gnuplot", { args: ["--version"] }).outputSync(),
  "connect 127.0.0.1:25": async () => (await Deno.connect({ hostname: "127.0.0.1", port: 25 })).close(),
  "connect 192.0.2.2:80": async () => (await Deno.connect({ hostname: "192.0.2.2", port: 80 })).close(),
  "env PATH": () => Deno.env.get("PATH"),
  "env NETMON_SMTP_PASSWORD": () => Deno.env.get("NETMON_SMTP_PASSWORD"),
  "ffi": () => Deno.dlopen("libc.so.6", {}),
  "read /etc/netmon/netmon.toml": () => Deno.readTextFileSync("/etc/netmon/netmon.toml"),
  "write /var/lib/netmon": () => Deno.writeTextFileSync("/var/lib/netmon/probe", "x"),
};

const results: Record<string, string> = {};
for (const [name, fn] of Object.entries(tries)) {
  try {
    await fn();
    results[name] = "ok";
  } catch (e) {
    results[name] = e instanceof Error && e.name === "NotCapable" ? "denied" : (e as Error).name;
  }
}
console.log(JSON.stringify(results));
