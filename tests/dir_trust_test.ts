/**
 * lib/host/dir_trust.ts in-process: who can change a directory netmon
 * writes in, from what `stat` says of it and of every directory and link on
 * the way to it (the CLI cases are in harden_test and page_html_test).
 *
 * @module
 */

import { deepEqual as assertEquals, ok, rejects } from "node:assert/strict";
import {
  chain,
  type Checked,
  CONFIG_FILE,
  type DirInfo,
  dirsTrustWarnings,
  dirTrustWarnings,
  PROGRAM,
  STORE_DIR,
  TEXTFILE_DIR,
  trustFindings,
  trustProblems,
} from "../lib/host/dir_trust.ts";
import { STATE_DIR, STATE_DIR_AS_ROOT } from "../lib/state/files.ts";
import { refuseUntrusted, trustChecks } from "../lib/config/trust.ts";
import { parseConfig } from "../lib/config/config.ts";
import type { NetmonError } from "../lib/host/errors.ts";
import { withTempDir } from "./helpers.ts";

const PAGES: Checked = { ...STATE_DIR, what: "page directory", mayBeMissing: false, uncheckable: "none removed" };

/** `stat -c '%f %u %g %F|%n'` lines for root-owned 0755 directories, with `extra` lines after. */
function statSays(paths: readonly string[], extra: string[] = []): string {
  return paths.map((p) => `41ed 0 0 directory|${p}`).concat(extra).join("\n") + "\n";
}

Deno.test("every directory on the way must be reported: a missing one is 'cannot check', but a state directory not made yet", async () => {
  await withTempDir(async (dir) => {
    const www = `${dir}/www`;
    Deno.mkdirSync(www);
    const all = chain(www);
    assertEquals(await dirTrustWarnings(www, PAGES, () => Promise.resolve(statSays(all))), []);
    // A directory renamed away while stat ran, or a stat that prints nothing (BSD's has no -c): not "all is well".
    for (const said of [statSays(all.filter((p) => p !== dir)), ""]) {
      const w = await dirTrustWarnings(www, PAGES, () => Promise.resolve(said));
      assertEquals(w.length, 1, said);
      ok(/^cannot check whether other users can write the page directory .*: stat did not report \//.test(w[0]!), w[0]);
      ok(w[0]!.endsWith("(none removed)"), w[0]);
    }
    // The state directory may not exist yet (the first report makes it): the directories above it still count.
    const state = `${dir}/state/inner`;
    assertEquals(await dirTrustWarnings(state, STATE_DIR, () => Promise.resolve(statSays(chain(dir)))), []);
    // But a gap above a directory that is there is not.
    const gap = statSays([state, ...chain(dir).filter((p) => p !== dir)]);
    ok((await dirTrustWarnings(state, STATE_DIR, () => Promise.resolve(gap)))[0]?.startsWith("cannot check"));
  });
});

Deno.test("a link on the way is checked by its owner (its mode means nothing), and the real path too", async () => {
  await withTempDir(async (dir) => {
    const real = `${dir}/real`;
    Deno.mkdirSync(real);
    Deno.symlinkSync(real, `${dir}/link`);
    const asked: string[][] = [];
    const stat = (owner: number) => (paths: readonly string[]) => {
      asked.push([...paths]);
      return Promise.resolve(
        paths.map((p) => p === `${dir}/link` ? `a1ff ${owner} 0 symbolic link|${p}` : `41ed 0 0 directory|${p}`)
          .join("\n"),
      );
    };
    // Root's link, in a directory only root can write: as safe as that directory.
    assertEquals(await dirTrustWarnings(`${dir}/link`, PAGES, stat(0)), []);
    assertEquals(new Set(asked[0]), new Set([...chain(`${dir}/link`), ...chain(real)]));
    // Another user's: they can point it anywhere.
    const w = await dirTrustWarnings(`${dir}/link`, PAGES, stat(4242));
    assertEquals(w, [
      `${dir}/link is a symbolic link, owned by uid 4242 (mode 0777): another user could plant links or FIFOs in ` +
      `the page directory ${dir}/link (netmon refuses them, but fix it: name the real directory, or remove the ` +
      `link ${dir}/link and make it again as root)`,
    ]);
  });
});

Deno.test("modes: others' or a group's write bit (root's too: an ACL's mask), not a sticky directory above", () => {
  const info = (path: string, mode: number, gid = 0) => ({ path, mode, uid: 0, gid, type: "directory" });
  const dir = "/srv/www";
  const problems = (mode: number, gid = 0, at = dir) =>
    trustProblems(dir, [info(at, mode, gid), ...chain("/srv").map((p) => info(p, 0o755))], 0, PAGES).map((w) =>
      w.replace(/ \(mode.*/, "")
    );
  assertEquals(problems(0o755), []);
  assertEquals(problems(0o777), ["/srv/www is writable by every user"]);
  assertEquals(problems(0o775, 4242), ["/srv/www is writable by group 4242"]);
  assertEquals(problems(0o775), ["/srv/www is writable by group 0 (root) or by a user or group a POSIX ACL names"]);
  // Sticky counts above the directory (others cannot rename what is not theirs), not for the directory itself.
  assertEquals(problems(0o1777), ["/srv/www is writable by every user"]);
  const above = trustProblems(dir, [info(dir, 0o755), info("/srv", 0o1777), info("/", 0o755)], 0, PAGES);
  assertEquals(above, []);
  // Only the way to it (the page directory: the web server's user may own it), but a link there still counts.
  const way = { ...PAGES, onlyTheWay: true };
  const own = { path: dir, mode: 0o777, uid: 33, gid: 33, type: "directory" };
  assertEquals(trustProblems(dir, [own, info("/srv", 0o755), info("/", 0o755)], 0, way), []);
  assertEquals(trustProblems(dir, [own, info("/srv", 0o777), info("/", 0o755)], 0, way).length, 1);
  const link = { ...own, type: "symbolic link" };
  ok(trustProblems(dir, [link, info("/srv", 0o755), info("/", 0o755)], 0, way)[0]?.startsWith(`${dir} is a symbolic`));
});

Deno.test("the textfile directory: its own owner and mode count, another user's directory above does not (Debian's)", () => {
  const info = (path: string, mode: number, uid = 0) => ({ path, mode, uid, gid: uid, type: "directory" });
  const tf = "/var/lib/prometheus/node-exporter";
  // Debian's prometheus-node-exporter: /var/lib/prometheus is prometheus:prometheus 0755, node-exporter root's 0755.
  const debian = [
    info(tf, 0o755),
    info("/var/lib/prometheus", 0o755, 104),
    ...chain("/var/lib").map((p) => info(p, 0o755)),
  ];
  assertEquals(trustProblems(tf, debian, 0, TEXTFILE_DIR), []);
  // The same layout as a state directory is warned of: what is planted there would be root's state.
  assertEquals(trustProblems(tf, debian, 0, STATE_DIR).length, 1);
  // The textfile directory itself another user's, or writable by every user (sticky or not): they could replace
  // netmon's figures.
  for (const own of [info(tf, 0o755, 104), info(tf, 0o777), info(tf, 0o1777), info(tf, 0o775, 0)]) {
    const w = trustProblems(tf, [own, ...debian.slice(1)], 0, TEXTFILE_DIR);
    assertEquals(w.length, 1, own.mode.toString(8));
    ok(
      w[0]!.includes(`replace the textfile with forged figures, or make root write it elsewhere, in the Prometheus`),
      w[0],
    );
  }
  // A directory above writable by every user (not sticky): anyone could put another directory in its place.
  const above = trustProblems(
    tf,
    [debian[0]!, info("/var/lib/prometheus", 0o777, 104), ...debian.slice(2)],
    0,
    TEXTFILE_DIR,
  );
  assertEquals(above.length, 1);
  ok(above[0]!.startsWith("/var/lib/prometheus is writable by every user (mode 0777): "), above[0]);
  ok(above[0]!.includes("above the Prometheus textfile directory /var/lib/prometheus/node-exporter"), above[0]);
});

Deno.test("the state directory and the textfile's in one run of stat; without a textfile, the state directory's alone", async () => {
  await withTempDir(async (dir) => {
    Deno.mkdirSync(`${dir}/state`);
    Deno.mkdirSync(`${dir}/tf`);
    const asked: string[][] = [];
    // Every directory root's, mode 0755, but the textfile's: 0777 (41ff).
    const stat = (paths: readonly string[]) => {
      asked.push([...paths]);
      return Promise.resolve(paths.map((p) => `${p === `${dir}/tf` ? "41ff" : "41ed"} 0 0 directory|${p}`).join("\n"));
    };
    assertEquals(await dirsTrustWarnings([[`${dir}/state`, STATE_DIR]], stat), []);
    assertEquals(asked, [chain(`${dir}/state`)]);
    const w = await dirsTrustWarnings([[`${dir}/state`, STATE_DIR], [`${dir}/tf`, TEXTFILE_DIR]], stat);
    assertEquals(asked.length, 2);
    assertEquals(new Set(asked[1]), new Set([...chain(`${dir}/state`), ...chain(`${dir}/tf`)]));
    assertEquals(w.length, 1);
    ok(
      w[0]!.startsWith(`${dir}/tf is writable by every user (mode 0777): another user could replace the textfile`),
      w[0],
    );
  });
});

Deno.test({
  name: "Debian's node_exporter textfile directory, as the installed package made it, is not warned of",
  ignore: (() => {
    try {
      return !Deno.statSync("/var/lib/prometheus/node-exporter").isDirectory;
    } catch {
      return true;
    }
  })(),
  async fn() {
    const tf = Deno.statSync("/var/lib/prometheus/node-exporter");
    const home = Deno.statSync("/var/lib/prometheus");
    // What makes this case: a root directory, 0755, in one that node_exporter's user (not root) owns.
    assertEquals([tf.uid, tf.mode! & 0o7777], [0, 0o755]);
    ok(home.uid !== 0 && (home.mode! & 0o022) === 0, `${home.uid} ${(home.mode! & 0o7777).toString(8)}`);
    assertEquals(await dirTrustWarnings("/var/lib/prometheus/node-exporter", TEXTFILE_DIR), []);
    assertEquals((await dirTrustWarnings("/var/lib/prometheus/node-exporter", STATE_DIR)).length, 1);
  },
});

Deno.test("what is refused, not warned of: the store's directory even sticky, as root the state directory unless sticky, a config file or program another user owns or can write", () => {
  const info = (path: string, mode: number, uid = 0, type = "directory") => ({ path, mode, uid, gid: 0, type });
  const way = (dir: string) => chain(dir).slice(1).map((p) => info(p, 0o755));
  const found = (dir: string, own: DirInfo, checked: Checked, uid = 0, above = way(dir)) =>
    trustFindings(dir, [own, ...above], uid, checked).map((f) => f.refused);
  const d = "/var/lib/netmon";
  // The state directory as root: refused unless only its sticky bit lets others write; warned of otherwise.
  assertEquals(found(d, info(d, 0o777), STATE_DIR_AS_ROOT), [true]);
  assertEquals(found(d, info(d, 0o770), STATE_DIR_AS_ROOT), [true]);
  assertEquals(found(d, info(d, 0o1777), STATE_DIR_AS_ROOT), [false]);
  assertEquals(found(d, info(d, 0o1755, 4242), STATE_DIR_AS_ROOT), [true]);
  assertEquals(found(d, info(d, 0o755), STATE_DIR_AS_ROOT, 0, [info("/var/lib", 0o777), info("/var", 0o755)]), [true]);
  assertEquals(found(d, info(d, 0o777), STATE_DIR), [false]);
  // The store's directory: sticky or not.
  assertEquals(found(d, info(d, 0o1777), STORE_DIR), [true]);
  assertEquals(found(d, info(d, 0o750), STORE_DIR), []);
  // A file: its owner (root, or the running user) and its write bits; a sticky directory above it is fine.
  const f = "/tmp/netmon.toml";
  const tmp = [info("/tmp", 0o1777), info("/", 0o755)];
  assertEquals(found(f, info(f, 0o644, 0, "regular file"), CONFIG_FILE, 0, tmp), []);
  assertEquals(found(f, info(f, 0o644, 1000, "regular file"), CONFIG_FILE, 1000, tmp), []);
  assertEquals(found(f, info(f, 0o644, 1000, "regular file"), CONFIG_FILE, 0, tmp), [true]);
  assertEquals(found(f, info(f, 0o664, 0, "regular file"), CONFIG_FILE, 0, tmp), [true]);
  assertEquals(found(f, info(f, 0o755, 0, "regular file"), PROGRAM, 0, [info("/tmp", 0o777), info("/", 0o755)]), [
    true,
  ]);
  const [line] = trustProblems(f, [info(f, 0o666, 65534, "regular file"), ...tmp], 0, CONFIG_FILE);
  assertEquals(
    line,
    `${f} is owned by uid 65534, writable by every user (mode 0666): another user could choose the programs netmon ` +
      `runs and the figures it bills through the config file ${f} (netmon refuses to run until it is fixed: ` +
      `chown root:root ${f} && chmod go-w ${f})`,
  );
});

Deno.test("trust.ts: what a config names is checked in one run of stat, the first refusal thrown with exit 77", async () => {
  const config = parseConfig(
    `source = "iptables"\nstore = "sqlite:db/netmon.sqlite"\n[[meter]]\nname = "a"\nfrom = "203.0.113.9"\n[binaries]\niptables = "/opt/fw/iptables"\n` +
      `[mail]\ntransport = "sendmail"\nsendmail = "/opt/mta/sendmail"\nfrom = "a@example.org"\nto = ["b@example.org"]\n`,
    "/srv/trustdirs-test/netmon.toml",
  );
  const checks = trustChecks(config, "/srv/trustdirs-test/state", 0);
  assertEquals(checks.map(([p, c]) => [p, c.what]), [
    ["/srv/trustdirs-test/state", "state directory"],
    ["/srv/trustdirs-test/state/db", "SQLite store's directory"],
    ["/srv/trustdirs-test/netmon.toml", "config file"],
    ["/opt/fw/iptables", "program the config names"],
    ["/opt/mta/sendmail", "program the config names"],
  ]);
  assertEquals(checks[0]![1], STATE_DIR_AS_ROOT);
  assertEquals(trustChecks(config, "/srv/trustdirs-test/state", 1000)[0]![1], STATE_DIR);
  const asked: string[][] = [];
  const files = new Set(["/srv/trustdirs-test/netmon.toml", "/opt/fw/iptables", "/opt/mta/sendmail"]);
  const says = (loose: string) => (dirs: readonly string[]) => {
    asked.push([...dirs]);
    const line = (p: string) =>
      p === loose ? `41ff 0 0 directory|${p}` : files.has(p) ? `81ed 0 0 regular file|${p}` : `41ed 0 0 directory|${p}`;
    return Promise.resolve(dirs.map(line).join("\n") + "\n");
  };
  assertEquals(await refuseUntrusted(config, "/srv/trustdirs-test/state", 0, says("")), []);
  assertEquals(asked.length, 1, "one run of stat");
  await rejects(refuseUntrusted(config, "/srv/trustdirs-test/state", 0, says("/opt/mta")), (e: NetmonError) => {
    assertEquals(e.exitCode, 77);
    ok(e.message.startsWith("/opt/mta is writable by every user (mode 0777): another user could run code"), e.message);
    ok(
      e.message.endsWith("(netmon refuses to run until it is fixed: chown root:root /opt/mta && chmod go-w /opt/mta)"),
    );
    return true;
  });
});
