/**
 * The Prometheus textfile as a report output (`[prometheus] textfile`), for
 * node_exporter's textfile collector. Once the sample is logged, the file is
 * replaced (lib/host/files.ts's AtomicFile: a hidden `.NAME.RANDOM.tmp` beside
 * it, which the collector ignores, renamed over it) with each column's running
 * total (its counter plus its offset, which `netmon.totals` keeps:
 * lib/state/totals_file.ts), raw counter and resets, the sample's time, the
 * run's duration and, with customers, their cycles (textfile_cycles.ts). A side
 * output: a failure is a warning and exit 74 (77 naming a missing Deno flag),
 * never a lost sample. The text of given figures: textfile_format.ts.
 *
 * Each family has `# HELP` and `# TYPE`; label values are escaped; counts are
 * exact decimal integers (Prometheus keeps float64: exact to 2^53, 8 PB). The
 * raw counter is `netmon_raw_bytes`: promtool rejects `_counter_` in a gauge.
 *
 * @module
 */

import { deniedAccess, denoPermissionError, EX, fileError, NetmonError } from "../host/errors.ts";
import { AtomicFile, leftLongAgo, tidyTemporaries } from "../host/files.ts";
import { dirOf } from "../host/safe_open.ts";
import type { Meter } from "../config/meters.ts";
import { meterColumns } from "../config/meters.ts";
import type { StateFiles } from "../state/files.ts";
import { sameColumns } from "../state/log_format.ts";
import type { Recorded } from "../state/record.ts";
import { type LoadedTotals, loadTotals, prepareTotals, totalsPath } from "../state/totals_file.ts";
import { type Offsets, RESET_LABELS } from "../usage/offsets.ts";
import type { SampleOutput } from "./output.ts";

/** The labels the config knows for a column. */
export interface ColumnLabels {
  /** The meter the column belongs to. */
  meter?: string;
  /** `in`, `out` (or whatever the config says). */
  direction?: string;
  /** `ipv4` or `ipv6`. */
  family?: string;
}

/** True when `text` has a character a label value must escape (searched for: a regex costs 0.2 ms to compile). */
function needsEscape(text: string): boolean {
  return text.includes("\\") || text.includes('"') || text.includes("\n");
}

/** Escapes a label value: backslash, double quote and newline. */
export function escapeLabelValue(value: string): string {
  if (!needsEscape(value)) return value;
  return value.replace(/[\\"\n]/g, (c) => (c === "\n" ? "\\n" : `\\${c}`));
}

/** A column's labels after its `column` label, escaped: `,meter="…",direction="…",family="…"`, those it has. */
export function labelsText(labels: ColumnLabels): string {
  return (labels.meter === undefined ? "" : `,meter="${escapeLabelValue(labels.meter)}"`) + restText(labels);
}

/** A column's labels after its `meter` label, escaped: `,direction="…",family="…"`, those it has. */
export function restText(labels: ColumnLabels): string {
  const label = (name: string, value: string | undefined) =>
    value === undefined ? "" : `,${name}="${escapeLabelValue(value)}"`;
  return label("direction", labels.direction) + label("family", labels.family);
}

/** One series line; `labels` already escaped and comma-joined. */
export function series(name: string, labels: string, value: string): string {
  return `${name}${labels === "" ? "" : `{${labels}}`} ${value}\n`;
}

/** A family's HELP and TYPE lines. */
function header(name: string, type: "counter" | "gauge", help: string): string {
  return `# HELP ${name} ${help}\n# TYPE ${name} ${type}\n`;
}

/** A family: HELP and TYPE, then its series `lines`; nothing without series. */
export function family(name: string, type: "counter" | "gauge", help: string, lines: string): string {
  return lines === "" ? "" : header(name, type, help) + lines;
}

const TRAFFIC = header(
  "netmon_traffic_bytes_total",
  "counter",
  "Bytes counted in the column since its first sample, corrected for counter resets (never goes down).",
);
const RAW = header(
  "netmon_raw_bytes",
  "gauge",
  "The column's raw firewall or interface byte counter as read (goes to zero on a reset).",
);

/** `v` as text, refused unless finite. */
export function seconds(what: string, v: number): string {
  if (!Number.isFinite(v)) throw new RangeError(`Cannot write ${what}: ${v} is not a finite number`);
  return String(v);
}

/** `v`, refused when negative; `what` and `of` name it. */
export function natural(v: bigint, what: string, of = ""): bigint {
  if (v < 0n) throw new RangeError(`Cannot write ${what}${of}: ${v} is negative`);
  return v;
}

/** Throws if two of `keys` are the same. */
export function unique(what: string, keys: string[]): void {
  const seen = new Set<string>();
  for (const k of keys) {
    if (seen.has(k)) throw new RangeError(`Cannot write the textfile: ${what} ${k} appears twice`);
    seen.add(k);
  }
}

/** A reset line: `column`'s resets for `reason`. */
export function resetLine(column: string, reason: string, n: bigint): string {
  const labels = `column="${escapeLabelValue(column)}",reason="${escapeLabelValue(reason)}"`;
  return series("netmon_resets_total", labels, String(natural(n, column, " resets")));
}

/**
 * The columns of a textfile, taken by position: no object is made for each of
 * ten thousand. Their labels but `column` are in two parts, so that a meter's
 * one column of its own name, the common one, needs no string of its own.
 */
export interface Columns {
  /** Their names, in order. */
  names: readonly string[];
  /** Their `meter` label values, escaped (undefined: none). */
  meters: readonly (string | undefined)[];
  /** Their labels after `meter` (`,direction="…",family="…"`, those they have), escaped. */
  rest: readonly string[];
  /** Their running totals. */
  totals: readonly bigint[];
  /** Their raw counters. */
  counters: readonly bigint[];
}

/**
 * Where the text of a textfile goes, a string or a count at a time: the file
 * itself ({@linkcode writeTextfile}, which copies them into one reused buffer
 * of bytes), or pieces of text ({@linkcode pieces}).
 */
export interface TextSink {
  /** Appends `text`. */
  text(text: string): void;
  /** Appends `n` in decimal. */
  count(n: bigint): void;
}

/** Parts in a piece of text: about 256 columns' lines, 20 KB. */
const PIECE_PARTS = 2304;

/** Where a textfile's text goes: a sink, or a function given it a piece at a time ({@linkcode pieces}). */
export type TextOut = TextSink | ((piece: string) => void);

/**
 * A sink that gives `emit` the text a piece at a time, each piece a list of
 * parts joined once (for tests and formatTextfile; the report writes bytes);
 * `end` gives the last.
 */
export function pieces(emit: (piece: string) => void): TextSink & { end(): void } {
  const parts: (string | bigint)[] = [];
  const flush = () => {
    if (parts.length === 0) return;
    emit(parts.join(""));
    parts.length = 0;
  };
  return {
    text(text) {
      parts.push(text);
      if (parts.length >= PIECE_PARTS) flush();
    },
    count(n) {
      parts.push(n);
    },
    end: flush,
  };
}

/**
 * A whole textfile, given to `out` a string or a count at a time: the
 * columns' families, then their resets (`resetLines`), the sample's time, the
 * run's duration and the customers' families (`cycles`, textfile_cycles.ts).
 * Given to the file as they come (no line made as a string: the 20,000 lines
 * of 10,000 columns, made as strings, were 1.5 MB of fresh memory every
 * report, which this VM pays a page fault per 4 KB for).
 */
export function exposition(
  columns: Columns,
  resetLines: string,
  lastSampleSeconds: number,
  reportDurationSeconds: number,
  cycles: string,
  to: TextOut,
): void {
  const piecewise = typeof to === "function" ? pieces(to) : undefined;
  const out = piecewise ?? (to as TextSink);
  const { names } = columns;
  // Names needing no escape (a meter's never do) are not looked at one by one.
  const escaped = needsEscape(names.join("")) ? names.map(escapeLabelValue) : names;
  if (names.length > 0) out.text(TRAFFIC);
  for (let i = 0; i < names.length; i++) {
    out.text('netmon_traffic_bytes_total{column="');
    out.text(escaped[i] as string);
    const meter = columns.meters[i];
    if (meter !== undefined) {
      out.text('",meter="');
      out.text(meter);
    }
    out.text('"');
    out.text(columns.rest[i] as string);
    out.text("} ");
    out.count(natural(columns.totals[i] as bigint, names[i] as string, " total"));
    out.text("\n");
  }
  if (names.length > 0) out.text(RAW);
  for (let i = 0; i < names.length; i++) {
    out.text('netmon_raw_bytes{column="');
    out.text(escaped[i] as string);
    out.text('"} ');
    out.count(natural(columns.counters[i] as bigint, names[i] as string));
    out.text("\n");
  }
  const resets = "Counter resets seen in the column, by reason: counter_went_down, reboot, interface_recreated, " +
    "counter_recreated, rules_recreated, packets_went_down.";
  out.text(
    family("netmon_resets_total", "counter", resets, resetLines) +
      header("netmon_last_sample_timestamp_seconds", "gauge", "When the last sample was taken (Unix time).") +
      `netmon_last_sample_timestamp_seconds ${seconds("the sample time", lastSampleSeconds)}\n` +
      header("netmon_report_duration_seconds", "gauge", "How long the last report took.") +
      `netmon_report_duration_seconds ${seconds("the report duration", reportDurationSeconds)}\n` +
      cycles,
  );
  piecewise?.end();
}

/**
 * The meter, direction and family labels of every configured column (none
 * for the interface source's), in config order: the order of a firewall
 * source's sample, so that a report takes them by position, not by name.
 */
export function columnLabels(meters: readonly Meter[]): [string, ColumnLabels][] {
  const out: [string, ColumnLabels][] = [];
  for (const m of meters) {
    const family = m.families.length === 1 ? `ipv${m.families[0]}` : undefined;
    // The common meter (10,000 of them are set up every report): one column, its name; no direction.
    if (isCommon(m)) {
      out.push([m.name, family ? { meter: m.name, family } : { meter: m.name }]);
      continue;
    }
    for (const c of meterColumns(m)) {
      const l: ColumnLabels = { meter: m.name };
      if (c.direction) l.direction = c.direction;
      const v = m.split.family ? /-v([46])$/.exec(c.name) : null;
      if (v) l.family = `ipv${v[1]}`;
      else if (family) l.family = family;
      out.push([c.name, l]);
    }
  }
  return out;
}

/**
 * The labels of every configured column ({@linkcode columnLabels}) as the
 * textfile writes them, in config order: made once when the output is set up
 * (while the counters are read), not as the file is written. A meter's one
 * column of its own name, which 10,000 meters are, makes no string: its
 * `meter` label is its name, the rest one of three.
 *
 * @example
 * ```ts
 * labelTexts(config.meters); // { columns: ["proxy", …], meters: ["proxy", …], rest: [',family="ipv4"', …] }
 * ```
 */
export function labelTexts(meters: readonly Meter[]): LabelTexts {
  // Usually every meter is a common one: then a pass over them for each list, with no string made (the `meter`
  // labels are the columns themselves when no name needs escaping), costs a third of one pass adding to three.
  if (meters.every(isCommon)) {
    const columns = meters.map((m) => m.name);
    return {
      columns,
      meters: needsEscape(columns.join("")) ? columns.map(escapeLabelValue) : columns,
      rest: meters.map((m) => m.families.length === 1 ? FAMILY[m.families[0] as 4 | 6] : ""),
    };
  }
  const out = { columns: [] as string[], meters: [] as string[], rest: [] as string[] };
  const add = (column: string, meter: string, rest: string) => {
    out.columns.push(column);
    out.meters.push(meter);
    out.rest.push(rest);
  };
  for (const m of meters) {
    if (isCommon(m)) {
      add(m.name, escapeLabelValue(m.name), m.families.length === 1 ? FAMILY[m.families[0] as 4 | 6] : "");
    } else for (const [column, labels] of columnLabels([m])) add(column, escapeLabelValue(m.name), restText(labels));
  }
  return out;
}

/** A meter of one column, its own name, with no direction: the common meter. */
function isCommon(m: Meter): boolean {
  return !m.directions && !m.split.family;
}

/** The labels of columns as the textfile writes them ({@linkcode labelTexts}). */
export interface LabelTexts {
  /** The columns, in order. */
  columns: readonly string[];
  /** Each one's `meter` label value, escaped. */
  meters: readonly string[];
  /** Each one's labels after `meter`, escaped ({@linkcode Columns}). */
  rest: readonly string[];
}

/** The family labels of a meter of one family. */
const FAMILY = { 4: ',family="ipv4"', 6: ',family="ipv6"' };

/** No column has labels (the interface source's). */
export const NO_LABELS: LabelTexts = { columns: [], meters: [], rest: [] };

/**
 * The textfile after the recorded `sample` (taken at instant `epoch`), given to `out` (see
 * {@linkcode exposition}): each column of the sample in its order, its running total its counter plus its offset
 * (from `offsets`, those after it), its labels in `labels` ({@linkcode
 * labelTexts}; none for a column not there), its resets by reason (the known
 * reasons in their order, then others by name), the sample's time, and
 * `cycles`, the customers' families (textfile_cycles.ts). A column no longer
 * read is left out.
 *
 * @example
 * ```ts
 * const sample = { timestamp: "2024/03/01-10:05:00", counters: new Map([["proxy", 500n]]) };
 * const offsets = { stamp: sample.timestamp, columns: ["proxy"], offsets: [1000n], resets: [new Map()] };
 * let text = "";
 * sampleTextfile({ sample, epoch: Date.UTC(2024, 2, 1, 9, 5) }, offsets, NO_LABELS, 0.02, "", (piece) => (text += piece));
 * text; // …netmon_traffic_bytes_total{column="proxy"} 1500\n…
 * ```
 */
export function sampleTextfile(
  { sample, epoch }: Pick<Recorded, "sample" | "epoch">,
  offsets: Offsets,
  labels: LabelTexts,
  reportDurationSeconds: number,
  cycles: string,
  out: TextOut,
): void {
  const names = [...sample.counters.keys()];
  const counters = [...sample.counters.values()];
  const totals = new Array<bigint>(names.length);
  let resetLines = "";
  // Offsets as lib/usage/offsets.ts advances them start with the sample's columns, in its order.
  let at: Map<string, number> | undefined;
  for (let i = 0; i < names.length; i++) {
    const name = names[i] as string;
    const k = offsets.columns[i] === name ? i : (at ??= new Map(offsets.columns.map((c, j) => [c, j]))).get(name);
    if (k === undefined) {
      throw new RangeError(`Cannot write the textfile: column ${JSON.stringify(name)} has no offset`);
    }
    totals[i] = (counters[i] as bigint) + (offsets.offsets[k] as bigint);
    const counts = offsets.resets[k] as ReadonlyMap<string, bigint>;
    if (counts.size === 0) continue;
    const others = [...counts.keys()].filter((r) => !RESET_LABELS.includes(r)).sort();
    for (const reason of [...RESET_LABELS, ...others]) {
      const n = counts.get(reason);
      if (n !== undefined && n > 0n) resetLines += resetLine(name, reason, n);
    }
  }
  // A firewall source's sample has the config's columns, in its order: their labels are taken as they are.
  let { meters, rest }: Pick<Columns, "meters" | "rest"> = labels;
  if (!sameColumns(labels.columns, names)) {
    const at = new Map(labels.columns.map((c, i) => [c, i]));
    const of = names.map((c) => at.get(c));
    meters = of.map((i) => i === undefined ? undefined : labels.meters[i]);
    rest = of.map((i) => i === undefined ? "" : labels.rest[i] as string);
  }
  const time = Math.floor(epoch / 1000);
  exposition({ names, meters, rest, totals, counters }, resetLines, time, reportDurationSeconds, cycles, out);
}

const encoder = new TextEncoder();

/** The buffer a textfile is written through: 64 KB. */
const BUFFER_BYTES = 1 << 16;

/**
 * A sink writing to `file` through one buffer of bytes, reused: strings are
 * copied into it a character at a time, as each is ASCII but for rare label
 * values (TextEncoder.encodeInto writes only at the start of the array it is
 * given: a subarray per string, and its result object, would be garbage for
 * each of the 180,000 strings of 10,000 columns). `end` writes what is left.
 */
function fileSink(file: AtomicFile): TextSink & { end(): void } {
  const buffer = new Uint8Array(BUFFER_BYTES);
  let at = 0;
  const flush = () => {
    file.write(buffer.subarray(0, at));
    at = 0;
  };
  const text = (text: string) => {
    // A UTF-16 unit is at most 3 bytes of UTF-8.
    if (at + 3 * text.length > buffer.length) {
      flush();
      if (3 * text.length > buffer.length) return file.write(text);
    }
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c > 0x7f) {
        at += encoder.encodeInto(text.slice(i), buffer.subarray(at)).written;
        return;
      }
      buffer[at++] = c;
    }
  };
  return {
    text,
    count: (n) => n === 0n ? text("0") : text(String(n)),
    end: flush,
  };
}

/**
 * Replaces `path` with `text`, or with the text `write` gives its sink, mode
 * `mode` (0644: node_exporter, its own user, reads it). Refuses a target that
 * is not a regular file (or a link to one). Throws a NetmonError: 73 when the
 * directory is missing, 77 when denied, 74 otherwise.
 */
export function writeTextfile(
  path: string,
  text: string | ((out: TextSink) => void),
  mode = 0o644,
): void {
  try {
    if (!Deno.statSync(path).isFile) {
      throw new NetmonError(`Cannot write ${path}: it exists and is not a regular file`, EX.CANTCREAT);
    }
  } catch (err) {
    if (err instanceof NetmonError) throw err;
    if (!(err instanceof Deno.errors.NotFound)) throw fileError(err, "write", path);
  }
  // Not synced: node_exporter sees the old file or the new one either way, and every report rewrites it.
  const file = new AtomicFile(path, mode, "Prometheus textfile", { durable: false });
  try {
    const out = fileSink(file);
    if (typeof text === "string") out.text(text);
    else text(out);
    out.end();
  } catch (err) {
    file.abandon();
    throw err;
  }
  file.commit();
  // Then a killed run's temporary, an hour old (not another run's that is writing it: two configs may name one
  // file). Only tidying: what stops it is not worth a failed output.
  const name = path.slice(path.lastIndexOf("/") + 1);
  try {
    tidyTemporaries(dirOf(path), (target, temporary) => target === name && leftLongAgo(temporary));
  } catch { /* left for a later run */ }
}

/**
 * A failure of this output as the report's one line: a warning, exit 74 (or
 * 77 naming what Deno refused). The textfile is replaced through a temporary
 * file in its directory, which is read (the target is checked) and written:
 * a refusal anywhere there names that directory for both lists, since
 * granting the file alone fails on the next step, and says that a flag
 * replaces the set's list (granting only the directory would deny the config
 * and the state directory).
 */
function textfileError(err: unknown, path: string): NetmonError {
  const access = deniedAccess(err);
  const dir = dirOf(path);
  if (access && (access.path === path || dirOf(access.path) === dir)) {
    return new NetmonError(
      `Deno denied ${access.kind} access to ${access.path === path ? path : dir}: the textfile is replaced ` +
        `through a temporary file in its directory, which both lists need: --allow-read=…,${dir} ` +
        `--allow-write=…,${dir} (… the paths the permission set has, since a flag replaces its list: ` +
        "'netmon schedule' prints the whole line)",
      EX.NOPERM,
      { cause: err },
    );
  }
  const denied = denoPermissionError(err) ??
    (err instanceof NetmonError && err.exitCode === EX.NOPERM ? err : undefined);
  if (denied) return denied;
  const why = err instanceof Error ? err.message.split("\n")[0] : String(err);
  return new NetmonError(
    `warning: Prometheus textfile ${path} not written: ${why} (the sample is logged; the next report writes it)`,
    EX.IOERR,
    { cause: err },
  );
}

/** What the textfile output is given besides its path. */
export interface TextfileOptions {
  /** Seconds since the run started (for netmon_report_duration_seconds); default performance.now(). */
  clock?: () => number;
  /** The customers' families as of the recorded sample (textfile_cycles.ts); undefined when not known: left out. */
  cycles?: (r: Recorded) => string | undefined;
}

/** Configured columns from which `netmon.totals` is read early (see textfileOutput). */
const EARLY_COLUMNS = 1000;

/**
 * The textfile output for `path`: `netmon.totals` read when it is set up
 * (which a report does while it reads the counters), checked and prepared
 * before the log append and committed after it, like `netmon.last`; the
 * textfile written once the sample is logged.
 */
export function textfileOutput(
  path: string,
  files: StateFiles,
  meters: readonly Meter[],
  opts: TextfileOptions = {},
): SampleOutput {
  const clock = opts.clock ?? (() => performance.now() / 1000);
  const labels = labelTexts(meters);
  let offsets: Offsets | undefined;
  let failure: unknown;
  // For the first sample recorded: the file as read when the output was set up, while the report reads the counters
  // (iptables-save of 10,000 rules takes 90 ms), when it has thousands of columns. A small one is read when needed:
  // read early it cost 2 to 3 ms more (a 2-meter report on two CPUs), not less.
  let early: { loaded: LoadedTotals | undefined } | undefined;
  if (labels.columns.length >= EARLY_COLUMNS) {
    try {
      // Its columns are usually the config's, in its order: then they are not split into 10,000 strings of its own.
      early = { loaded: loadTotals(totalsPath(files.dir), labels.columns) };
    } catch (err) {
      failure = err;
    }
  }
  return {
    name: "Prometheus textfile",
    async beforeAppend(step) {
      const read = early;
      early = undefined;
      try {
        if (failure !== undefined) throw failure;
        const prepared = await prepareTotals(
          files.dir,
          files.log,
          step.previous,
          step.sample,
          step.warnings,
          step.resets,
          read,
          step.lastLogged,
        );
        offsets = prepared.offsets;
        return [{
          commit() {
            try {
              prepared.file.commit();
            } catch (err) {
              failure ??= err;
            }
          },
          abandon: () => prepared.file.abandon(),
        }];
      } catch (err) {
        failure = err;
        read?.loaded?.file.close();
        return [];
      }
    },
    recorded(r) {
      try {
        if (failure !== undefined) throw failure;
        if (offsets === undefined) throw new Error("the running totals were not computed");
        const figures = offsets;
        const cycles = opts.cycles?.(r) ?? "";
        writeTextfile(path, (out) => sampleTextfile(r, figures, labels, clock(), cycles, out));
      } catch (err) {
        throw textfileError(err, path);
      }
    },
  };
}
