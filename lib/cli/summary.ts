/**
 * `netmon summary`: the billing questions answered from the log alone. Reads
 * the config and the log, never the firewall; the figures come from
 * lib/usage/summary.ts.
 *
 * @module
 */
import { err, findConfig, findStateDir } from "./context.ts";
import type { Options } from "./commands.ts";
import type { Config } from "../config/config.ts";
import { DataError, EX, fileError, NetmonError } from "../host/errors.ts";
import { stateFiles } from "../state/files.ts";
import { refuseUntrusted } from "../config/trust.ts";
import { getUid } from "../host/env.ts";
import type { Unit } from "../usage/calendar.ts";
import { logColumns, LogReader, samplesOfFile } from "../usage/log_samples.ts";
import type { Row } from "../usage/rows.ts";
import { dayOrLonger, OverviewSummarizer, Summarizer } from "../usage/summary.ts";
import { logZone } from "../state/zone_record.ts";
import type { Sample } from "../usage/engine.ts";
import { SafeFile } from "../host/safe_open.ts";
import {
  billingsOf,
  parseSummaryRequest,
  printOverview,
  printRows,
  summaryPlan,
  type SummaryRequest,
} from "./summary_views.ts";

function openLog(path: string): SafeFile {
  let file: SafeFile | undefined;
  try {
    file = SafeFile.open(path, { what: "log" });
  } catch (e) {
    throw fileError(e, "read", path);
  }
  if (!file) throw new NetmonError(`${path}: no such log (run 'netmon report' first)`, EX.NOINPUT);
  return file;
}

/** Writes text chunks to stdout, 64 KiB at a time. */
export async function summary(opts: Options): Promise<number> {
  const req = parseSummaryRequest(opts);
  const config = await findConfig(opts.config);
  const files = stateFiles(findStateDir(opts.stateDir, config));
  // What a report refuses to run with (lib/config/trust.ts), before anything is read: the config chooses the log
  // and the store (its password and CA files) read as root. What it only warns of (the textfile's directory, an
  // attachment) is not read here: the report says it on every run, and doctor lists it.
  await refuseUntrusted(config, files.dir, getUid() ?? 0);
  if (req.store) {
    const { summaryFromStore } = await import("./summary_store.ts");
    await summaryFromStore(req, config, req.store.hosts);
    return EX.OK;
  }
  const path = files.log;
  const file = openLog(path);
  try {
    run(req, config, path, file);
  } finally {
    file.close();
  }
  return EX.OK;
}

/** What every view needs, from the config and the columns read: customers, passes, filters. */
function run(req: SummaryRequest, config: Config, path: string, file: SafeFile): void {
  let badCount = 0;
  const bad = (where: string, reason: string) => {
    if (req.strict) throw new DataError(`${where}: ${reason} (--strict)`);
    if (++badCount <= 20) err(`netmon: warning: ${where}: ${reason}; line skipped\n`);
  };
  // The zone the stamps were written in: "local" cycles and days are that zone's, whatever the reader's TZ.
  const zone = logZone(path);
  const reader = new LogReader(path, bad, zone, { reuse: true });
  // The headers alone first (a fast search): the columns, and those that come back, for which the engines hold
  // buckets back while they are away (one removed for good would hold every bucket after it).
  const { columns: names, returns: returning } = logColumns(file, path);
  file.seekSync(0, Deno.SeekMode.Start);
  if (req.view === "overview") {
    // The overview prints nothing before the log is read: its customers and
    // --meter are matched to the columns that one reading found.
    const ov = new OverviewSummarizer(billingsOf(config, zone), Date.now(), { from: req.from, to: req.to, returning });
    for (const s of samplesOfFile(file, path, bad, reader)) ov.push(s);
    const { passes, only } = summaryPlan(req, config, reader.columnsRead.columns, path, zone);
    warnCount(path, badCount);
    printOverview(req, ov.result({ passes, only }));
    return;
  }
  // The present: a bucket over by then that the log stopped in is missing the rest (the one holding it is "so far").
  const now = Date.now();
  const plan = summaryPlan(req, config, names, path, zone);
  const { passes, only, from, to } = plan;
  const samples = samplesOfFile(file, path, bad, reader);
  const unit = req.unit as Unit;
  const summarizer = new Summarizer(passes, { unit, p95: dayOrLonger(unit), from, to, only, returning });
  function* rows(): Generator<Row> {
    for (const s of samples as Iterable<Sample>) yield* summarizer.push(s);
    yield* summarizer.finish(now);
    warnCount(path, badCount);
  }
  printRows(req, plan, rows());
}

function warnCount(path: string, count: number): void {
  if (count > 20) err(`netmon: warning: ${path}: ${count - 20} more malformed lines skipped\n`);
}
