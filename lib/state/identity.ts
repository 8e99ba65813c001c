/**
 * What the previous sample's counters were besides their values (the boot
 * time, each counter's identity, its packets), kept in `netmon.ident` in the
 * state directory, and the reset check of a report that uses it.
 *
 * Why a file of its own: with the original two meters, `netmon.log` and
 * `netmon.last` must stay byte for byte the original's, so neither can carry
 * more.
 *
 * Crash safety. The file holds up to two generations, each tagged with the
 * sample it describes: the log's size once that sample was appended, and a
 * hash of its log line. A report, holding the lock:
 *   1. finds the generation of the previous sample (the log's last one, as
 *      lib/state/record.ts reconciles it): the one whose tag matches the log
 *      as it is now;
 *   2. writes the new last file beside the old one (not yet renamed);
 *   3. replaces netmon.ident, atomically, with the new sample's generation
 *      followed by the previous sample's (step 1);
 *   4. appends reset lines and the sample line to the log, in one write;
 *   5. renames the new last file into place, and drops the start records
 *      (lib/state/started.ts) it applied.
 * Killed before 3: nothing changed. Between 3 and 4: the log still ends with
 * the previous sample, whose generation is still in the file (the second),
 * and the new one's tag names a log size the log does not have. After 4: the
 * log ends with the new sample, whose generation is the first. So the next
 * run always finds exactly the generation of the sample it compares with:
 * never a stale one (a false reset, or a reset counted twice) and never none
 * (a missed reset). The start records a generation applied are listed in it,
 * and carried into the next generation while the record exists, so a record
 * is applied once whether or not step 5 ran.
 *
 * When no generation matches (no file yet, a log rotated or edited by hand),
 * the identities are unknown for that one interval: only a counter that went
 * down is a reset then. A log moved away and started afresh (size 0) is
 * matched by the hash of the last file's sample alone.
 *
 * @module
 */

import { fileError } from "../host/errors.ts";
import { replaceFile } from "../host/files.ts";
import type { BootClock } from "../host/boot.ts";
import type { Reading } from "../sources/source.ts";
import { type ColumnIdentity, findResets, type Identities } from "../usage/resets.ts";
import { STATE_MODE, type StateFiles } from "./files.ts";
import { formatLogLine, formatResetLine, type Sample } from "./log_format.ts";
import { dropStarts, readStarts, type StartRecord } from "./started.ts";

/** The identity file of a state directory. */
export function identityPath(files: StateFiles): string {
  return `${files.dir}/netmon.ident`;
}

const HEADER = "# netmon identities of the last samples' counters (lib/state/identity.ts): do not edit\n";
const encoder = new TextEncoder();

/** FNV-1a of a string's UTF-16 units: a tag, not a defence. */
function hash(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return (h >>> 0).toString(16).padStart(8, "0");
}

/** One generation: its tag, and its text (parsed only when it is the one needed). */
interface Generation {
  size: number;
  hash: string;
  text: string;
}

function generations(text: string): Generation[] {
  const gens: Generation[] = [];
  for (const part of text.split(/^(?=sample\t)/m)) {
    const m = /^sample\t(\d+)\t([0-9a-f]{8})\n/.exec(part);
    if (m) gens.push({ size: Number(m[1]), hash: m[2] as string, text: part.endsWith("\n") ? part : `${part}\n` });
  }
  return gens;
}

const value = (text: string | undefined): bigint | undefined =>
  text === undefined || text === "-" || !/^\d{1,20}$/.test(text) ? undefined : BigInt(text);

/** The identities and applied start records a generation holds; undefined if it does not parse. */
function parseGeneration(gen: Generation): { ids: Identities; started: string[] } | undefined {
  const rows = new Map<string, string[]>();
  for (const line of gen.text.split("\n")) {
    const [key, ...rest] = line.split("\t");
    if (key) rows.set(key, rest);
  }
  const boot = rows.get("boot");
  const columns = rows.get("columns");
  if (!boot || !columns || !/^\d+$/.test(boot[0] ?? "") || !/^\d+$/.test(boot[1] ?? "")) return undefined;
  const id = rows.get("id") ?? [];
  const packets = rows.get("packets") ?? [];
  const evaluations = rows.get("evaluations") ?? [];
  const map = new Map<string, ColumnIdentity>();
  columns.forEach((c, i) => {
    const one: ColumnIdentity = {};
    const theId = id[i];
    if (theId !== undefined && theId !== "-") one.id = theId;
    const p = value(packets[i]);
    if (p !== undefined) one.packets = p;
    const e = value(evaluations[i]);
    if (e !== undefined) one.evaluations = e;
    map.set(c, one);
  });
  return {
    ids: { boot: Number(boot[0]), at: Number(boot[1]), columns: map },
    started: (rows.get("started") ?? []).filter((s) => s !== ""),
  };
}

function formatGeneration(size: number, line: string, ids: Identities, started: readonly string[]): string {
  const cols = [...ids.columns];
  const row = (key: string, f: (c: ColumnIdentity) => string | bigint | undefined) =>
    cols.some(([, c]) => f(c) !== undefined) ? `${key}\t${cols.map(([, c]) => f(c) ?? "-").join("\t")}\n` : "";
  return `sample\t${size}\t${hash(line)}\n` +
    `boot\t${ids.boot}\t${ids.at}\n` +
    `columns\t${cols.map(([name]) => name).join("\t")}\n` +
    row("id", (c) => c.id) +
    row("packets", (c) => c.packets) +
    row("evaluations", (c) => c.evaluations) +
    (started.length > 0 ? `started\t${started.join("\t")}\n` : "");
}

/** A report's reset check, from reading the previous identities to dropping the start records it applied. */
export interface ResetCheck {
  /** The columns reset since the previous sample, with their reasons. */
  resets: Map<string, string>;
  /** Reset lines for the log, one per reset the counter cannot show (it did not go down). */
  lines: string;
  /** Replaces netmon.ident with the new sample's generation; call just before appending `appended` to the log. */
  commit(appended: string): void;
  /** Once the sample is in the log and last file: removes the start records applied. */
  cleanup(): void;
}

/** The identities of `reading` at `clock`. */
export function identitiesOf(reading: Reading, clock: BootClock): Identities {
  const columns = new Map<string, ColumnIdentity>();
  for (const name of reading.bytes.keys()) {
    const c: ColumnIdentity = {};
    const id = reading.identities?.get(name);
    if (id !== undefined) c.id = id;
    const p = reading.packets?.get(name);
    if (p !== undefined) c.packets = p;
    const e = reading.evaluations?.get(name);
    if (e !== undefined) c.evaluations = e;
    columns.set(name, c);
  }
  return { at: clock.at, boot: clock.boot, columns };
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
  const path = identityPath(files);
  let logSize = 0;
  try {
    logSize = Deno.statSync(files.log).size;
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw fileError(err, "read log", files.log);
  }
  let text = "";
  try {
    text = Deno.readTextFileSync(path);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw fileError(err, "read", path);
  }
  let matched: Generation | undefined;
  let parsed: ReturnType<typeof parseGeneration>;
  if (previous && text !== "") {
    const tag = hash(formatLogLine(previous));
    const gens = generations(text);
    matched = gens.find((g) => g.hash === tag && (g.size === logSize || logSize === 0));
    parsed = matched && parseGeneration(matched);
    if (matched && !parsed) {
      warnings.push(`${path} does not parse: counter identities are unknown for this interval`);
      matched = undefined;
    }
  }
  const applied = new Set(parsed?.started);
  const records = readStarts(files);
  const present = new Set(records.map((r) => r.id));
  // Records this report applies now: those not applied with the previous sample.
  const fresh: StartRecord[] = records.filter((r) => !applied.has(r.id));
  const started = new Set<string>();
  for (const r of fresh) {
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
  let lines = "";
  for (const [column, reason] of resets) {
    if ((sample.counters.get(column) ?? 0n) >= (previous?.counters.get(column) ?? 0n)) {
      lines += formatResetLine(column, reason);
    }
  }
  return {
    resets,
    lines,
    commit(appended) {
      const size = logSize + encoder.encode(appended).length;
      replaceFile(
        path,
        HEADER + formatGeneration(size, formatLogLine(sample), ids, nowApplied) + (matched?.text ?? ""),
        STATE_MODE,
        "identity file",
      );
    },
    cleanup() {
      dropStarts(files, new Set(nowApplied));
    },
  };
}
