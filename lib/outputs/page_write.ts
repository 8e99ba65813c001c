/**
 * Writes the usage pages into a directory a web server serves: the directory
 * made 0755 when missing, every file replaced atomically (an exclusive
 * temporary file renamed into place) with mode 0644, the overview last so
 * that it never links to a page not yet there.
 *
 * The customer files it wrote are listed in `DIR/.netmon-pages` (mode 0600,
 * so a web server serving DIR cannot read it): a customer taken out of the
 * config has its page and CSV removed at the next run, not left on the web
 * with its old figures. Only names on that list are removed, and only
 * regular files: whatever else is in DIR (the picture, a robots.txt) is
 * never touched. The list is widened to the new names before any page is
 * written and narrowed once the old ones are gone, so a run killed at any
 * point leaves every file netmon wrote on the list.
 *
 * Where another user can change what is on the way to DIR, a directory
 * above it or a link (or `stat` cannot say), nothing is removed (they could put another
 * directory in DIR's place between reading the list and a removal) and the
 * run says so with the fix. The pages are still written, as the state
 * directory's files are beside such a warning: that user could have them
 * land in a directory of their choosing (README, "What remains").
 *
 * Without fsync, as the Prometheus textfile: the pages are rebuilt from the
 * log at every run, so after a power loss one may be the old one or empty
 * until the next; a reader never sees half a file either way. Syncing each
 * file and the directory after it was ~0.2-0.5 s of the 2 s the pages may
 * take for 100 customers (402 syncs).
 *
 * @module
 */

import { type Checked, dirTrustWarnings } from "../host/dir_trust.ts";
import { EX, fileError, NetmonError } from "../host/errors.ts";
import { replaceFile, tidyTemporaries } from "../host/files.ts";
import { withLock } from "../state/lock.ts";
import { ensureMode, lstatOrUndefined, readWholeText, withExactMode } from "../host/safe_open.ts";
import { customerStem, type PageFile } from "./page.ts";

/** Mode of the pages and CSV files: for a web server to read, whatever the umask. */
export const PAGE_MODE = 0o644;
/** Mode of the page directory when netmon makes it. */
export const PAGE_DIR_MODE = 0o755;

/** The list of the customer files netmon wrote into the page directory. */
export const PAGE_LIST = ".netmon-pages";
/** The lock one run at a time holds while it writes the pages (mode 0600, like the state's: lib/state/lock.ts). */
export const PAGE_LOCK = ".netmon-pages.lock";
const LIST_HEAD = "# netmon pages 1: files netmon wrote here, removed when their customer is gone\n";
/** A customer page's or CSV's name ({@linkcode customerStem}: never `index`), the only names ever removed. */
const CUSTOMER_FILE = /^(?!index\.)[A-Za-z0-9_-]+\.(html|csv)$/;

/** The page directory, as the warnings about who can write it name it. */
const PAGE_DIR: Checked = {
  what: "page directory",
  threat: "put another directory in place of, or plant links",
  meanwhile: "netmon removes no old page until this is fixed",
  // writePages makes it first: a directory of the path stat did not see was renamed away meanwhile.
  mayBeMissing: false,
  uncheckable: "no old page is removed",
  // Its own owner does not count (the web server's user may own it): what is planted in it is refused or replaced,
  // and a removal, by a name without a slash, unlinks what is there, never follows it. Only its place can be taken.
  onlyTheWay: true,
};

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
 * Then removes the customer files an earlier run wrote whose customer is not
 * in `customers` (the config's) any more: a customer without a page this
 * time (no data yet) keeps the old one; none where another user can change
 * what is on the way to `dir`, or that cannot be checked. Returns warnings:
 * who can change the directory, what it could not remove.
 */
export async function writePages(
  dir: string,
  pages: readonly PageFile[],
  csv: readonly NamedText[],
  customers: readonly string[],
): Promise<string[]> {
  pageDirectory(dir);
  // `stat` runs as a child while the lock is taken.
  const trust = dirTrustWarnings(dir, PAGE_DIR);
  const base = dir.endsWith("/") ? dir : `${dir}/`;
  // Two runs at once (a slow night, a run by hand) would each trust a list the other is changing.
  return await withLock(
    { lock: base + PAGE_LOCK },
    60_000,
    async () => {
      const problems = await trust;
      return [...problems, ...writeLocked(base, pages, csv, customers, problems.length === 0)];
    },
  );
}

/**
 * {@linkcode writePages} with the directory's lock held: temporaries of pages found now belong to a run that died.
 * Old pages and those temporaries are removed only with `removals`.
 */
function writeLocked(
  base: string,
  pages: readonly PageFile[],
  csv: readonly NamedText[],
  customers: readonly string[],
  removals: boolean,
): string[] {
  // Pages' and the list's temporaries only: the picture and data beside them are written under no such lock.
  if (removals) {
    tidyTemporaries(base, (name) => CUSTOMER_FILE.test(name) || name === "index.html" || name === PAGE_LIST);
  }
  const stems = new Set(pages.map((p) => p.name.replace(/\.html$/, "")));
  const csvFiles = csv.filter((c) => stems.has(c.name.replace(/\.csv$/, "")));
  const index = pages.filter((p) => p.name === "index.html");
  const others = pages.filter((p) => p.name !== "index.html");
  const written = [...csvFiles.map((c) => c.name), ...others.map((p) => p.name)];
  const current = new Set(customers.map(customerStem));
  const warnings: string[] = [];
  const before = listedBefore(base, warnings);
  const stale: string[] = [], kept: string[] = [];
  for (const name of before ?? []) (current.has(name.replace(/\.(html|csv)$/, "")) ? kept : stale).push(name);
  if (before) writeList(base, [...before, ...written]);
  for (const f of csvFiles) replaceFile(base + f.name, f.text, PAGE_MODE, "CSV", { durable: false });
  for (const p of [...others, ...index]) replaceFile(base + p.name, p.html, PAGE_MODE, "page", { durable: false });
  // Not removed now stays on the list, to be removed by a later run.
  const left = removals ? stale.filter((name) => !removed(base + name, warnings)) : stale;
  if (before) writeList(base, [...kept, ...written, ...left]);
  return warnings;
}

/** The names on the directory's list; an empty set when there is none yet, undefined (and a warning) when unreadable. */
function listedBefore(base: string, warnings: string[]): Set<string> | undefined {
  let text: string | undefined;
  try {
    text = readWholeText(base + PAGE_LIST, { what: "page list" }, 1 << 20);
  } catch (e) {
    warnings.push(`${e instanceof Error ? e.message : e}; no old page was removed`);
    return undefined;
  }
  if (text === undefined) return new Set();
  if (!text.startsWith(LIST_HEAD)) {
    warnings.push(`${base}${PAGE_LIST}: not netmon's page list; no page removed (delete it to start a new list)`);
    return undefined;
  }
  return new Set(text.slice(LIST_HEAD.length).split("\n").filter((name) => CUSTOMER_FILE.test(name)));
}

function writeList(base: string, names: readonly string[]): void {
  const text = LIST_HEAD + [...new Set(names)].sort().map((name) => `${name}\n`).join("");
  replaceFile(base + PAGE_LIST, text, 0o600, "page list", { durable: false });
}

/** Removes the regular file at `path`; false (and a warning) when something else is there or it cannot be removed. */
function removed(path: string, warnings: string[]): boolean {
  try {
    const s = lstatOrUndefined(path, "look at the page of a customer no longer configured");
    if (s === undefined) return true;
    if (!s.isFile) {
      // Not what netmon wrote there: left alone, and off the list (a page of the admin's own may take the name later).
      warnings.push(`${path}: not a regular file, left in place (it was a page of a customer no longer configured)`);
      return true;
    }
    Deno.removeSync(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return true;
    warnings.push(`${fileError(e, "remove the page of a customer no longer configured", path).message}`);
    return false;
  }
}
