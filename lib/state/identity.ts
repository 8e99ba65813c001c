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
 * The replacement in step 3 is not synced by itself, which would double the
 * cost of a report on a disk (a sync takes milliseconds): a killed process
 * loses nothing that is in the page cache, and against a power cut the log
 * append's sync in step 4 carries it (on ext4 and XFS a sync commits the
 * journal with every rename and, for a renamed file, its data, issued
 * before). Where it does not, a power cut loses at most that generation: the
 * next run finds no tag matching and treats the identities as unknown for
 * one interval, never as a false reset.
 *
 * When no generation matches (no file yet, a log rotated or edited by hand),
 * the identities are unknown for that one interval: only a counter that went
 * down is a reset then. A log moved away and started afresh (size 0) is
 * matched by the last file's sample's timestamp alone.
 *
 * @module
 */

import { fileError } from "../host/errors.ts";
import { replaceFile } from "../host/files.ts";
import type { BootClock } from "../host/boot.ts";
import type { Reading } from "../sources/source.ts";
import { findResets, type Identities } from "../usage/resets.ts";
import { STATE_MODE, type StateFiles } from "./files.ts";
import { formatResetLine, type Sample } from "./log_format.ts";
import { dropStarts, readStarts, type StartRecord } from "./started.ts";

/** The identity file of a state directory. */
export function identityPath(files: StateFiles): string {
  return `${files.dir}/netmon.ident`;
}

const HEADER = "# netmon identities of the last samples' counters (lib/state/identity.ts): do not edit\n";
const GEN = "\nsample\t";

/** One generation: its tag, and its text (parsed only when it is the one needed). */
interface Generation {
  size: number;
  stamp: string;
  text: string;
}

function generations(text: string): Generation[] {
  const starts: number[] = text.startsWith("sample\t") ? [0] : [];
  for (let i = text.indexOf(GEN); i >= 0; i = text.indexOf(GEN, i + 1)) starts.push(i + 1);
  const gens: Generation[] = [];
  starts.forEach((start, k) => {
    const part = text.slice(start, starts[k + 1] ?? text.length);
    const m = /^sample\t(\d+)\t(\S+)\n/.exec(part);
    if (m) gens.push({ size: Number(m[1]), stamp: m[2] as string, text: part.endsWith("\n") ? part : `${part}\n` });
  });
  return gens;
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
    matched = generations(text).find((g) => g.stamp === previous.timestamp && (g.size === logSize || logSize === 0));
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
      replaceFile(
        path,
        HEADER + formatGeneration(logSize + utf8Length(appended), sample.timestamp, ids, nowApplied) +
          (matched?.text ?? ""),
        STATE_MODE,
        "identity file",
        { durable: false }, // made durable by the log append's sync that follows: see the module header
      );
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
