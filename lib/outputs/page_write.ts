/**
 * Writes the usage pages into a directory a web server serves: the directory
 * made 0755 when missing, every file replaced atomically (an exclusive
 * temporary file renamed into place) with mode 0644, the overview last so
 * that it never links to a page not yet there.
 *
 * Without fsync, as the Prometheus textfile: the pages are rebuilt from the
 * log at every run, so after a power loss one may be the old one or empty
 * until the next; a reader never sees half a file either way. Syncing each
 * file and the directory after it was ~0.2-0.5 s of the 2 s the pages may
 * take for 100 customers (402 syncs).
 *
 * @module
 */

import { EX, fileError, NetmonError } from "../host/errors.ts";
import { replaceFile } from "../host/files.ts";
import { ensureMode, withExactMode } from "../host/safe_open.ts";
import type { PageFile } from "./page.ts";

/** Mode of the pages and CSV files: for a web server to read, whatever the umask. */
export const PAGE_MODE = 0o644;
/** Mode of the page directory when netmon makes it. */
export const PAGE_DIR_MODE = 0o755;

/** A file to write: its name in the directory and its text. */
export interface NamedText {
  name: string;
  text: string;
}

/** Makes `dir` (mode 0755) unless it is there; refuses anything there that is not a directory. */
export function pageDirectory(dir: string): void {
  let info: Deno.FileInfo | undefined;
  try {
    info = Deno.statSync(dir);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw fileError(e, "read the page directory", dir);
  }
  if (info !== undefined) {
    if (!info.isDirectory) {
      throw new NetmonError(`${dir}: is not a directory (name a directory for --html)`, EX.CANTCREAT);
    }
    return;
  }
  try {
    withExactMode(PAGE_DIR_MODE, () => Deno.mkdirSync(dir, { mode: PAGE_DIR_MODE }));
  } catch (e) {
    throw fileError(e, "create the page directory", dir);
  }
  // A web server reads it: a mode the umask narrowed is mended, or an error.
  ensureMode(dir, "page directory", PAGE_DIR_MODE, () => Deno.lstatSync(dir).mode);
}

/**
 * Writes `csv` and `pages` into `dir` (made if missing), each replaced
 * atomically with mode 0644; `index.html` last. A CSV is written only beside
 * its page (`NAME.csv` beside `NAME.html`): none while there is no data yet.
 */
export function writePages(dir: string, pages: readonly PageFile[], csv: readonly NamedText[]): void {
  pageDirectory(dir);
  const base = dir.endsWith("/") ? dir : `${dir}/`;
  const stems = new Set(pages.map((p) => p.name.replace(/\.html$/, "")));
  for (const f of csv.filter((c) => stems.has(c.name.replace(/\.csv$/, "")))) {
    replaceFile(base + f.name, f.text, PAGE_MODE, "CSV", { durable: false });
  }
  const index = pages.filter((p) => p.name === "index.html");
  for (const p of [...pages.filter((p) => p.name !== "index.html"), ...index]) {
    replaceFile(base + p.name, p.html, PAGE_MODE, "page", { durable: false });
  }
}
