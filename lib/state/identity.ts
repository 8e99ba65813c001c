/**
 * What the previous sample's counters were besides their values (the boot
 * time, each counter's identity, its packets), kept in `netmon.ident` in the
 * state directory, and the reset check of a report that uses it.
 *
 * Why a file of its own: with the original two meters, `netmon.log` and
 * `netmon.last` must stay byte for byte the original's, so neither can carry
 * more.
 *
 * Crash safety. Two files, `netmon.ident` and `netmon.ident.1`, each hold
 * one generation, tagged with the sample it describes (the log's size once
 * that sample was appended, and its timestamp) and closed by an `end` line
 * repeating the tag with a hash of the generation. A report, holding the lock:
 *   1. finds the generation of the previous sample (the log's last one, as
 *      lib/state/record.ts reconciles it): the one whose tag matches the log
 *      as it is now, whole (its end line and hash agree);
 *   2. writes the new last file beside the old one (not yet renamed);
 *   3. overwrites the other file in place with the new sample's generation;
 *   4. appends reset lines and the sample line to the log, in one write;
 *   5. renames the new last file into place, and drops the start records
 *      (lib/state/started.ts) it applied.
 * Killed before 3: nothing changed. During 3: the file written is torn (no
 * end line, or one that does not agree), but the previous sample's generation
 * is whole in the other file, and the log still ends with that sample.
 * Between 3 and 4: the same, the new generation's tag naming a log size the
 * log does not have. After 4: the log ends with the new sample, whose
 * generation is whole. So the next run always finds exactly the generation of
 * the sample it compares with: never a stale one (a false reset, or a reset
 * counted twice) and never none (a missed reset). The start records a
 * generation applied are listed in it, and carried into the next generation
 * while the record exists, so a record is applied once whether or not step 5
 * ran.
 *
 * The files are overwritten in place and not synced: no file is created or
 * renamed per report, which on a disk would cost the log append's sync more
 * than the check itself (a new file's blocks and a rename ride on that sync's
 * journal commit). A killed process loses nothing that is in the page cache;
 * a power cut may leave the generation written in step 3 old or torn, and
 * then the next run finds no whole generation matching, and treats the
 * identities as unknown for one interval: never a false reset.
 *
 * When no generation matches (no file yet, a log rotated or edited by hand),
 * the identities are unknown for that one interval: only a counter that went
 * down is a reset then. A log moved away and started afresh (size 0) is
 * matched by the last file's sample's timestamp alone.
 *
 * @module
 */

import { fileError } from "../host/errors.ts";
import { writeAll } from "../host/files.ts";
import { readWholeText, SafeFile } from "../host/safe_open.ts";
import type { BootClock } from "../host/boot.ts";
import type { Reading } from "../sources/source.ts";
import { findResets, type Identities } from "../usage/resets.ts";
import { STATE_MODE, type StateFiles } from "./files.ts";
import { formatResetLine, type Sample } from "./log_format.ts";
import { dropStarts, readStarts, type StartRecord } from "./started.ts";

/** The two identity files of a state directory, written in turn. */
export function identityPaths(files: StateFiles): [string, string] {
  return [`${files.dir}/netmon.ident`, `${files.dir}/netmon.ident.1`];
}

const HEADER = "# netmon identities of a sample's counters (lib/state/identity.ts): do not edit\n";

/** The most an identity file is read: a generation of 10,000 meters takes about 0.5 MB. */
const MAX_IDENT = 64 << 20;

/** One generation: its tag, and its text (parsed only when it is the one needed). */
interface Generation {
  size: number;
  stamp: string;
  text: string;
}

/**
 * FNV-1a over the UTF-16 units of `text`: tells a generation torn by a kill
 * or a power cut from a whole one (a hand-written few lines: Deno has no
 * synchronous digest without loading node:crypto, which costs a report more
 * than the whole check).
 */
function fnv1a(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return (h >>> 0).toString(16).padStart(8, "0");
}

/** The end line that closes the generation `body` tagged `size`, `stamp`. */
function endLine(size: number, stamp: string, body: string): string {
  return `end\t${size}\t${stamp}\t${fnv1a(body)}\n`;
}

/** The whole generation in an identity file's `text`, if there is one. */
function generationIn(text: string): Generation | undefined {
  const body = text.startsWith(HEADER) ? text.slice(HEADER.length) : text;
  const m = /^sample\t(\d+)\t(\S+)\n/.exec(body);
  if (!m) return undefined;
  const [, size, stamp] = m as unknown as [string, string, string];
  const end = body.indexOf(`\nend\t${size}\t${stamp}\t`);
  if (end < 0) return undefined;
  const gen = body.slice(0, end + 1);
  // Bytes after the end line are a longer generation's tail, left by a kill before the file was cut to length.
  if (!body.startsWith(endLine(Number(size), stamp, gen), end + 1)) return undefined;
  return { size: Number(size), stamp, text: gen };
}

/** The identities and applied start records a generation holds; undefined if it does not parse. */
function parseGeneration(gen: Generation): { ids: Identities; started: string[] } | undefined {
  const row = (key: string): string[] | undefined => {
    const start = gen.text.indexOf(`\n${key}\t`);
    if (start < 0) return undefined;
    const end = gen.text.indexOf("\n", start + 1);
    return gen.text.slice(start + key.length + 2, end < 0 ? undefined : end).split("\t");
  };
  const boot = row("boot");
  const columns = row("columns");
  if (!boot || !columns || !/^\d+$/.test(boot[0] ?? "") || !/^\d+$/.test(boot[1] ?? "")) return undefined;
  const none = (r: string[] | undefined) => r?.map((v) => (v === "-" ? "" : v));
  return {
    ids: {
      boot: Number(boot[0]),
      at: Number(boot[1]),
      columns,
      ids: none(row("id")),
      packets: none(row("packets")),
      evaluations: none(row("evaluations")),
    },
    started: (row("started") ?? []).filter((x) => x !== ""),
  };
}

/** The identities of `reading` at `clock`, in its column order. */
export function identitiesOf(reading: Reading, clock: BootClock): Identities {
  const columns = [...reading.bytes.keys()];
  const of = (m: Map<string, unknown> | undefined) =>
    m && m.size > 0 ? columns.map((c) => (m.has(c) ? String(m.get(c)) : "")) : undefined;
  return {
    at: clock.at,
    boot: clock.boot,
    columns,
    ids: of(reading.identities),
    packets: of(reading.packets),
    evaluations: of(reading.evaluations),
  };
}

function formatGeneration(size: number, stamp: string, ids: Identities, started: readonly string[]): string {
  const row = (key: string, values: readonly string[] | undefined) =>
    values ? `${key}\t${values.map((v) => v || "-").join("\t")}\n` : "";
  return `sample\t${size}\t${stamp}\n` +
    `boot\t${ids.boot}\t${ids.at}\n` +
    `columns\t${ids.columns.join("\t")}\n` +
    row("id", ids.ids) +
    row("packets", ids.packets) +
    row("evaluations", ids.evaluations) +
    (started.length > 0 ? `started\t${started.join("\t")}\n` : "");
}

/**
 * Writes `text` over the identity file at `path` in place (created if
 * missing), then cuts it to length: no new file, no rename, no sync (see the
 * module header).
 */
function overwrite(path: string, text: string): void {
  const f = SafeFile.must(path, { what: "identity file", write: true, create: STATE_MODE });
  try {
    const bytes = new TextEncoder().encode(text);
    writeAll(f, bytes);
    if (f.statSync().size > bytes.length) f.truncateSync(bytes.length);
  } catch (err) {
    throw fileError(err, "write identity file", path);
  } finally {
    f.close();
  }
}

/** Bytes `text` takes in UTF-8. */
function utf8Length(text: string): number {
  // deno-lint-ignore no-control-regex
  return /[^\x00-\x7f]/.test(text) ? new TextEncoder().encode(text).length : text.length;
}

/** A report's reset check, from reading the previous identities to dropping the start records it applied. */
export interface ResetCheck {
  /** The columns reset since the previous sample, with their reasons. */
  resets: Map<string, string>;
  /** Reset lines for the log, one per reset the counter cannot show (it did not go down). */
  lines: string;
  /** The resets of those lines, column to reason (the sample's `resets` as the log records them). */
  logged: Map<string, string>;
  /** Replaces netmon.ident with the new sample's generation; call just before appending `appended` to the log. */
  commit(appended: string): void;
  /** Once the sample is in the log and last file: removes the start records applied. */
  cleanup(): void;
}

/**
 * Starts a report's reset check: reads the previous sample's identities and
 * the start records not yet applied, and finds the resets between `previous`
 * and `sample`. Call with the lock held, after the log's end was repaired.
 */
export function checkResets(
  files: StateFiles,
  previous: Sample | undefined,
  sample: Sample,
  reading: Reading,
  clock: BootClock,
  warnings: string[],
): ResetCheck {
  const paths = identityPaths(files);
  let logSize = 0;
  try {
    logSize = Deno.statSync(files.log).size;
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw fileError(err, "read log", files.log);
  }
  // The file holding the previous sample's generation is kept; the other is written (slot 0 when neither holds it).
  let keep: number | undefined;
  let parsed: ReturnType<typeof parseGeneration>;
  if (previous) {
    paths.forEach((path, slot) => {
      if (keep !== undefined) return;
      const text = readWholeText(path, { what: "identity file" }, MAX_IDENT);
      const g = text === undefined ? undefined : generationIn(text);
      if (!g || g.stamp !== previous.timestamp || (g.size !== logSize && logSize !== 0)) return;
      parsed = parseGeneration(g);
      if (parsed) keep = slot;
      else warnings.push(`${path} does not parse: counter identities are unknown for this interval`);
    });
  }
  const applied = new Set(parsed?.started);
  const records = readStarts(files);
  const present = new Set(records.map((r) => r.id));
  // Records this report applies now: those not applied with the previous sample.
  const fresh: StartRecord[] = records.filter((r) => !applied.has(r.id));
  const started = new Set<string>();
  for (const r of fresh) {
    // Another source's rules (the config's source changed since that start) are not what this reading counted.
    if (r.source !== undefined && r.source !== reading.source) continue;
    for (const c of r.columns) if (!reading.asWritten || reading.asWritten.has(c)) started.add(c);
  }
  const ids = identitiesOf(reading, clock);
  const resets = findResets({
    previous,
    previousIds: parsed?.ids,
    sample,
    ids,
    identityReason: reading.identityReason,
    started,
    carried: reading.carried,
  });
  const nowApplied = [...[...applied].filter((id) => present.has(id)), ...fresh.map((r) => r.id)];
  const logged = new Map<string, string>();
  for (const [column, reason] of resets) {
    if ((sample.counters.get(column) ?? 0n) >= (previous?.counters.get(column) ?? 0n)) logged.set(column, reason);
  }
  return {
    resets,
    lines: [...logged].map(([column, reason]) => formatResetLine(column, reason)).join(""),
    logged,
    commit(appended) {
      const size = logSize + utf8Length(appended);
      const gen = formatGeneration(size, sample.timestamp, ids, nowApplied);
      overwrite(paths[keep === 0 ? 1 : 0], HEADER + gen + endLine(size, sample.timestamp, gen));
    },
    cleanup() {
      // The sample is logged whatever happens here: a record left behind is listed as applied in netmon.ident.
      try {
        dropStarts(files, new Set(nowApplied));
      } catch (err) {
        warnings.push(`${err instanceof Error ? err.message : err}; removed by a later report`);
      }
    },
  };
}
