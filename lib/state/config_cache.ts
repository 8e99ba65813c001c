/**
 * The config's parsed TOML, kept in the state directory
 * (`netmon.config-cache`) so that a report whose config has not changed does
 * not parse it again: smol-toml takes about 90 ms over 10,000 `[[meter]]`
 * tables and about 17 ms over 1,000 customers' quota lines, every five
 * minutes, where reading the kept document back takes about a tenth of that
 * (bench/scale_bench.ts and bench/quota_bench.ts print both).
 *
 * Only the TOML step is skipped: the document is validated as always, by the
 * netmon that runs, so a config error is reported as it always is, and a
 * newer netmon never relies on what an older one concluded. An entry serves
 * exactly the text it was parsed from, by the same parser (its module's
 * resolved URL names the version), and nothing else.
 *
 * A document read from here becomes the config of a job run as root, so it
 * is believed only from a directory no other user can write, in a regular
 * file (not a link) of the running user that nobody else may write;
 * anything else is passed over and the config parsed. A missing, torn or
 * foreign entry costs only the parse.
 *
 * @module
 */

import type { Config, DocumentCache } from "../config/config.ts";
import { replaceFile, tidyTemporaries } from "../host/files.ts";
import { granted, othersCanWrite, readRest, SafeFile } from "../host/safe_open.ts";

/** The entry's name in the state directory. */
export const CONFIG_CACHE = "netmon.config-cache";

/** This file layout's name: an entry of another layout is not read. */
const FORMAT = "netmon parsed config 1";

/** The parser the documents come from: its module's resolved URL, which names its version (pinned in deno.json). */
const PARSER = parserId();

function parserId(): string | undefined {
  try {
    return import.meta.resolve("smol-toml");
  } catch {
    return undefined; // a runtime that cannot say which parser it has keeps nothing (every run parses)
  }
}

/** A config file is a few kilobytes, 10,000 meters half a megabyte: an entry beyond this is not read. */
const MAX_ENTRY = 64 << 20;

/**
 * A config shorter than this (the original's two meters are 478 bytes) is
 * parsed in 1 to 2 ms, about what checking and reading its entry take: it is
 * neither looked up nor kept.
 */
export const MIN_CACHED_TEXT = 2048;

/** What the entry holds. */
interface Entry {
  format: string;
  parser: string;
  text: string;
  doc: unknown;
}

/**
 * A TOML document as JSON brings it back, made as smol-toml makes one
 * (tables without a prototype); undefined if it holds anything a parsed
 * document cannot (an entry that is not what {@linkcode keepDocument} wrote).
 */
function asDocument(value: unknown): Record<string, unknown> | undefined {
  const ok = (v: unknown): boolean => {
    if (typeof v === "string" || typeof v === "boolean" || typeof v === "number") return true;
    if (Array.isArray(v)) return v.every(ok);
    if (typeof v !== "object" || v === null) return false;
    Object.setPrototypeOf(v, null);
    for (const k in v) if (!ok((v as Record<string, unknown>)[k])) return false;
    return true;
  };
  return typeof value === "object" && value !== null && !Array.isArray(value) && ok(value)
    ? value as Record<string, unknown>
    : undefined;
}

/** True when JSON gives `v` back exactly: strings, booleans, finite numbers but -0, arrays and plain tables. */
function jsonExact(v: unknown): boolean {
  if (typeof v === "string" || typeof v === "boolean") return true;
  if (typeof v === "number") return Number.isFinite(v) && !Object.is(v, -0);
  if (Array.isArray(v)) return v.every(jsonExact);
  if (typeof v !== "object" || v === null || v instanceof Date) return false;
  for (const k in v) if (k === "__proto__" || !jsonExact((v as Record<string, unknown>)[k])) return false;
  return true;
}

/**
 * The document kept in `dir` for exactly `text`, if there is one this run
 * may believe (see the module's notes); never throws.
 */
export function keptDocument(dir: string, text: string): Record<string, unknown> | undefined {
  const path = `${dir}/${CONFIG_CACHE}`;
  try {
    if (PARSER === undefined || !granted("read", path) || othersCanWrite(dir) !== "no") return undefined;
    const spec = { what: "parsed config", owners: "self" } as const;
    const f = SafeFile.open(path, spec);
    if (!f) return undefined;
    if (((f.statSync().mode ?? 0) & 0o022) !== 0) {
      f.close();
      return undefined;
    }
    const bytes = readRest(f, path, spec, MAX_ENTRY);
    const entry = JSON.parse(new TextDecoder().decode(bytes)) as Partial<Entry>;
    if (entry.format !== FORMAT || entry.parser !== PARSER || entry.text !== text) return undefined;
    return asDocument(entry.doc);
  } catch {
    return undefined; // unreadable, refused or torn: the config is parsed
  }
}

/**
 * Keeps `doc`, just parsed from `text`, in `dir` (mode 0600: the config may
 * be private), replacing any older entry; not when JSON would not give it
 * back exactly, nor where it could not be believed later. Call with the state
 * lock held (a temporary file a killed run left is removed). Never throws: an
 * entry not written costs the next run a parse.
 */
export function keepDocument(dir: string, text: string, doc: Record<string, unknown>): void {
  const path = `${dir}/${CONFIG_CACHE}`;
  try {
    if (PARSER === undefined || !granted("write", path) || othersCanWrite(dir) !== "no" || !jsonExact(doc)) return;
    const entry: Entry = { format: FORMAT, parser: PARSER, text, doc };
    tidyTemporaries(dir, CONFIG_CACHE);
    replaceFile(path, JSON.stringify(entry), 0o600, "parsed config", { durable: false });
  } catch {
    // A state directory not made yet (the first report), a full disk: the next run parses and tries again.
  }
}

/** A {@linkcode DocumentCache} whose fresh document is written only when the run says so. */
export interface PendingDocumentCache extends DocumentCache {
  /** Writes the document offered this run, if any (see {@linkcode documentCache}). */
  keep(): void;
}

/**
 * The cache of the config's parsed TOML in state directory `dir`, for
 * {@linkcode loadConfig}. A fresh document is kept only for a config whose
 * state directory is `dir` (`inDir` says), so that every entry is where the
 * next run looks, and only once the run calls `keep` (a report, with the
 * state lock held once its sample is logged: a run that fails leaves the
 * state directory as it was).
 */
export function documentCache(dir: string, inDir: (config: Config) => boolean): PendingDocumentCache {
  let pending: { text: string; doc: Record<string, unknown> } | undefined;
  return {
    get: (text) => (text.length < MIN_CACHED_TEXT ? undefined : keptDocument(dir, text)),
    put: (text, doc, config) => {
      if (text.length >= MIN_CACHED_TEXT && inDir(config)) pending = { text, doc };
    },
    keep: () => {
      if (pending) keepDocument(dir, pending.text, pending.doc);
      pending = undefined;
    },
  };
}
