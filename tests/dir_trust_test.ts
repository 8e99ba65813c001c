/**
 * lib/host/dir_trust.ts in-process: who can change a directory netmon
 * writes in, from what `stat` says of it and of every directory and link on
 * the way to it (the CLI cases are in harden_test and page_html_test).
 *
 * @module
 */

import { deepEqual as assertEquals, ok } from "node:assert/strict";
import { chain, type Checked, dirTrustWarnings, STATE_DIR, trustProblems } from "../lib/host/dir_trust.ts";
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
