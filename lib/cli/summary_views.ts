/**
 * What `netmon summary` prints and how, from the log or the store alike:
 * the request from the command line, the plan (billing passes, customers,
 * columns), and the printing of rows and the overview.
 *
 * @module
 */

import { out } from "./context.ts";
import type { Options } from "./commands.ts";
import { parseDate } from "./dates.ts";
import type { Config } from "../config/config.ts";
import { type CustomerColumns, customerColumns, CustomerMatchError } from "../config/customers.ts";
import { allColumns, type Column, columnsAsConfigured } from "../config/meters.ts";
import { ConfigError, UsageError } from "../host/errors.ts";
import { type Unit, UNITS } from "../usage/calendar.ts";
import { csvChunks } from "../usage/csv.ts";
import { jsonChunks, overviewJson } from "../usage/json.ts";
import { formatOverview, type OverviewLine } from "../usage/overview.ts";
import type { Row } from "../usage/rows.ts";
import { billingPasses, type OverviewPart, type Pass, topRows } from "../usage/summary.ts";
import { formatTable, sharedNames } from "../usage/table.ts";
import { type Zone, zoneNamed } from "../usage/zone.ts";

/** What `netmon summary` was asked. */
export interface SummaryRequest {
  /** The overview, rows per bucket, or the top days. */
  view: "overview" | "rows" | "top";
  /** The bucket of `rows`. */
  unit?: Unit;
  /** How many days `top` keeps. */
  top?: number;
  /** `--from` as a naive wall time, read in each billing's zone. */
  from?: number;
  /** `--to` as a naive wall time, read in each billing's zone. */
  to?: number;
  /** `--meter` names. */
  meters: string[];
  /** How to print. */
  format: "table" | "json" | "csv";
  /** A malformed line is an error. */
  strict: boolean;
  /** `--store`: read the PostgreSQL store, of these hosts (`--host`; every host when empty). */
  store?: { hosts: string[] };
}

/** The zone summary's dates are in, as its usage errors say it. */
const SUMMARY_DATES = "in the billing zone, as the rows are labelled";

/** Checks `netmon summary`'s options; a UsageError for any mistake. */
export function parseSummaryRequest(opts: Options): SummaryRequest {
  const req: SummaryRequest = {
    view: "overview",
    meters: opts.meter,
    format: opts.json ? "json" : opts.csv ? "csv" : "table",
    strict: opts.strict,
  };
  if (opts.json && opts.csv) throw new UsageError("--json and --csv cannot be used together");
  if (opts.by !== undefined && opts.top !== undefined) throw new UsageError("--by and --top cannot be used together");
  if (opts.by !== undefined) {
    const unit = UNITS.find((u) => u === opts.by?.toLowerCase());
    if (unit === undefined) throw new UsageError(`--by ${opts.by}: must be one of ${UNITS.join(", ")}`);
    req.view = "rows";
    req.unit = unit;
  }
  if (opts.top !== undefined) {
    if (!/^[1-9]\d{0,5}$/.test(opts.top)) {
      throw new UsageError(`--top ${opts.top}: must be a number of days, 1 or more`);
    }
    req.view = "top";
    req.unit = "day";
    req.top = Number(opts.top);
  }
  if (req.format === "csv" && req.view === "overview") {
    throw new UsageError("--csv needs --by or --top (the overview is a table, or JSON with --json)");
  }
  if (opts.from !== undefined) req.from = parseDate("from", opts.from, SUMMARY_DATES);
  if (opts.to !== undefined) req.to = parseDate("to", opts.to, SUMMARY_DATES);
  if (req.from !== undefined && req.to !== undefined && req.from >= req.to) {
    throw new UsageError(`--from ${opts.from} is not before --to ${opts.to}`);
  }
  for (const m of req.meters) if (m === "") throw new UsageError("--meter needs a name");
  if (opts.store) {
    for (const h of opts.host) if (h === "") throw new UsageError("--host needs a host name");
    req.store = { hosts: [...new Set(opts.host)] };
  } else if (opts.host.length > 0) throw new UsageError("--host needs --store (the log is one host's)");
  return req;
}

/** The names `--meter` keeps: a customer by its name, else columns by name or by their meter's name. */
export function meterFilter(
  names: readonly string[],
  columns: readonly Column[],
  customers: readonly CustomerColumns[],
): Set<string> | undefined {
  if (names.length === 0) return undefined;
  const keep = new Set<string>();
  for (const name of names) {
    // A customer's name means the customer; otherwise a column, or a meter's columns.
    let found = customers.some((c) => c.name === name);
    if (found) keep.add(name);
    else {
      try {
        const [c] = customerColumns([{ name, meters: [name], billing: { cycleDay: 1 } }], columns);
        for (const col of [...(c?.in ?? []), ...(c?.out ?? []), ...(c?.both ?? [])]) keep.add(col);
        found = true;
      } catch (e) {
        if (!(e instanceof CustomerMatchError)) throw e;
      }
    }
    if (!found) {
      // A customer may be named as a column: each name once.
      const all = [...new Set([...columns.map((c) => c.name), ...customers.map((c) => c.name)])];
      throw new UsageError(
        `--meter ${name}: no column, meter or customer of that name (there are: ${all.join(", ") || "none"})`,
      );
    }
  }
  return keep;
}

/** Opens the state directory's log: a regular file of this user, not through a link, never blocking. */
export function print(chunks: Iterable<string>): void {
  let buffered = "";
  for (const c of chunks) {
    buffered += c;
    if (buffered.length >= 65536) {
      out(buffered);
      buffered = "";
    }
  }
  if (buffered !== "") out(buffered);
}

/** `netmon summary`. */
export interface SummaryPlan {
  /** The customers matched to the columns, in config order. */
  customers: CustomerColumns[];
  /** One engine pass per billing. */
  passes: Pass[];
  /** `--meter`'s names, when given. */
  only: Set<string> | undefined;
  /** `--from` as a naive wall time, read in each pass's zone. */
  from: number | undefined;
  /** `--to` as a naive wall time, read in each pass's zone. */
  to: number | undefined;
}

/**
 * The plan for columns `names` (read from `where`, e.g. the log's path), a billing with no zone's in `local` (the
 * log's: lib/state/zone_record.ts; default the machine's); a ConfigError when customers do not match. `elsewhere`:
 * columns that exist but not in what is read (the store's other hosts', with `--host`).
 */
export function summaryPlan(
  req: SummaryRequest,
  config: Config,
  names: readonly string[],
  where: string,
  local?: Zone,
  elsewhere: readonly string[] = [],
): SummaryPlan {
  const columns = columnsAsConfigured(names, config.meters);
  // A configured meter the log has no column of yet (added since the last report), or a column of another host than
  // those chosen, is its customer's zero here, not a config error: its columns are matched too, after the log's.
  const logged = new Set(names);
  for (const c of [...allColumns(config.meters), ...columnsAsConfigured(elsewhere, config.meters)]) {
    if (!logged.has(c.name)) {
      logged.add(c.name);
      columns.push(c);
    }
  }
  let customers: CustomerColumns[];
  try {
    customers = customerColumns(config.customers, columns, config.file ?? "config");
  } catch (e) {
    if (e instanceof CustomerMatchError) {
      throw new ConfigError(e.message.replaceAll("(columns: ", `(columns of ${where}: `));
    }
    if (e instanceof RangeError) throw new ConfigError(`${config.file ?? "config"}: ${e.message}`);
    throw e;
  }
  const passes = passesOf(config, customers, local);
  const only = meterFilter(req.meters, columns, customers);
  return { customers, passes, only, from: req.from, to: req.to };
}

/** One engine pass per billing of `config`, its customers being `customers` (in config order). */
function passesOf(config: Config, customers: readonly CustomerColumns[], local?: Zone): Pass[] {
  try {
    return billingPasses(
      config.billing,
      config.customers.map((spec, i) => ({ columns: customers[i] as CustomerColumns, billing: spec.billing })),
      (name) => zoneNamed(name, local),
    );
  } catch (e) {
    if (e instanceof RangeError) throw new ConfigError(`${config.file ?? "config"}: ${e.message}`);
    throw e;
  }
}

/**
 * The passes of `config`'s billings before its customers are matched to
 * columns (each with none yet): the same passes, in the same order, as the
 * plan's, for a view that matches them only after reading the log.
 */
export function billingsOf(config: Config, local?: Zone): Pass[] {
  return passesOf(config, config.customers.map((spec) => ({ name: spec.name, in: [], out: [], both: [] })), local);
}

/** Prints the overview of each pass as the request asks (table or JSON, whose `now` is the first pass's). */
export function printOverview(req: SummaryRequest, parts: { part: OverviewPart; lines: OverviewLine[] }[]): void {
  if (req.format === "json") {
    const now = parts[0]?.part.now ?? Date.now();
    out(overviewJson(
      parts.map(({ part, lines }) => ({
        periods: part.builder.periods,
        zone: part.pass.zone,
        cycleDay: part.pass.billing.cycleDay,
        lines,
        now: part.now,
      })),
      now,
    ));
    return;
  }
  // A customer billed apart is in another part than its same-named column: marked in both.
  const shared = sharedNames(parts.flatMap((p) => p.lines));
  out(
    parts.filter((p, k) => k === 0 || p.lines.length > 0).map(({ part, lines }) =>
      (parts.length > 1 ? `Billing cycles from day ${part.pass.billing.cycleDay}, ${zoneLabel(part.pass)}:\n` : "") +
      formatOverview(lines, part.builder.periods, shared)
    ).join("\n"),
  );
}

/** Prints rows (of `--by`, or the days `--top` picks from them) as the request asks. */
export function printRows(req: SummaryRequest, plan: SummaryPlan, rows: Iterable<Row>): void {
  const unit = req.unit as Unit;
  const mainZone = (plan.passes[0] as Pass).zone;
  const chosen = req.view === "top" ? topRows(rows, req.top as number) : rows;
  if (req.format === "csv") print(csvChunks(chosen, mainZone));
  else if (req.format === "json") print(jsonChunks(chosen, { by: req.view === "top" ? "day" : unit, zone: mainZone }));
  else out(formatTable([...chosen]));
}

export function zoneLabel(pass: Pass): string {
  return pass.billing.timeZone === undefined ? "local time" : pass.billing.timeZone;
}
