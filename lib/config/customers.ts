/**
 * Who the traffic belongs to and when it is billed: `[billing]` (the cycle's
 * first day and the zone whose midnight starts it), `[[customer]]` (a name,
 * the meters or log columns it sums, its quota and who is told), and the
 * roll-up of log columns into a customer's in and out. Every view (summary,
 * alerts, statements, the page, the exports) reads customers from here.
 *
 * @module
 */

import type { Column, Direction } from "./meters.ts";
import { zoneId } from "../usage/zone.ts";
import { closestZone, unknownKey } from "./suggest.ts";

/** What a quota counts. */
export type Count = "in" | "out" | "total";

/** When a billing cycle starts. */
export interface Billing {
  /** Day of the month a cycle starts (1-31; in shorter months, the month's last day). */
  cycleDay: number;
  /** IANA zone whose midnight starts a day; undefined: the machine's local time. */
  timeZone?: string;
}

/** A byte allowance per billing cycle, with the thresholds that alert. */
export interface Quota {
  /** Bytes allowed per cycle. */
  bytes: bigint;
  /** Written in powers of 1000 (`"500 GB"`): shown so, in SI units, wherever it is shown. */
  decimal?: true;
  /** What counts against it: inbound, outbound, or both added up (the default). */
  count: Count;
  /** Percentages of the quota that alert once per cycle, ascending. */
  alertAt: number[];
  /** Also alert (once per cycle) when the linear estimate for the cycle passes the quota. */
  alertProjected: boolean;
}

/** A committed 95th-percentile rate, checked like a quota on the cycle's 95th percentile so far. */
export interface Commit {
  /** Bits per second. */
  bps: number;
  /** Percentages of the commit that alert once per cycle, ascending. */
  alertAt: number[];
}

/** A customer as the config names it, before its meters are matched to log columns. */
export interface CustomerSpec {
  /** Its name in every view. */
  name: string;
  /** Meter names or log column names it sums; `*` is every column (the whole box). */
  meters: string[];
  /** No `meters` was written: `meters` is its name (so a problem with it names `name`, the key written). */
  metersOmitted?: true;
  /** Its billing cycle, the config's `[billing]` unless overridden. */
  billing: Billing;
  /** Its allowance per cycle, if any. */
  quota?: Quota;
  /** Its committed rate, if any. */
  commit?: Commit;
  /** Who gets its alerts (default: `[mail] to`). */
  alertTo?: string[];
  /** Who gets its cycle statement (default: `[mail] to`). */
  statementTo?: string[];
}

/**
 * A customer's log columns by direction. Undirected columns count once in its
 * bytes (the total), and in each direction's 95th percentile (lib/usage/customers.ts).
 */
export interface CustomerColumns {
  /** Its name. */
  name: string;
  /** Columns of traffic to it. */
  in: string[];
  /** Columns of traffic from it. */
  out: string[];
  /** Columns with both directions in one counter. */
  both: string[];
}

type Bad = (key: string, what: string) => void;

const IEC: Record<string, bigint> = {
  B: 1n,
  KiB: 1n << 10n,
  MiB: 1n << 20n,
  GiB: 1n << 30n,
  TiB: 1n << 40n,
  PiB: 1n << 50n,
  kB: 1000n,
  KB: 1000n,
  MB: 1000n ** 2n,
  GB: 1000n ** 3n,
  TB: 1000n ** 4n,
  PB: 1000n ** 5n,
};
const RATE: Record<string, number> = { "bit/s": 1, "kbit/s": 1e3, "Mbit/s": 1e6, "Gbit/s": 1e9, "Tbit/s": 1e12 };

/**
 * Bytes from a size with its unit: `500 GiB` (1024-based), `2 TB` (1000-based), `1.5 TiB`.
 *
 * @example
 * ```ts
 * parseBytes("500 GiB"); // 536870912000n
 * ```
 */
export function parseBytes(text: string): bigint | string {
  const m = /^\s*(\d+)(?:\.(\d+))?\s*([A-Za-z]+)\s*$/.exec(text);
  const unit = m ? IEC[m[3] as string] : undefined;
  if (!m || unit === undefined) {
    return `${JSON.stringify(text)} is not a size with a unit, like "500 GiB" (B, KiB, MiB, GiB, TiB, PiB; ` +
      "kB, MB, GB, TB, PB are powers of 1000)";
  }
  const whole = BigInt(m[1] as string);
  const frac = m[2];
  // A whole number of units (the usual quota) needs no scaling: one product, where a fraction costs a division.
  if (frac === undefined) return whole * unit;
  const scale = 10n ** BigInt(frac.length);
  return (whole * scale + BigInt(frac)) * unit / scale;
}

/** Whether size `text` (one {@linkcode parseBytes} reads) is in powers of 1000 (kB … PB), as the table says. */
function decimalSize(text: string): boolean {
  const unit = IEC[/([A-Za-z]+)\s*$/.exec(text)?.[1] ?? ""];
  return unit !== undefined && unit % 1000n === 0n;
}

/** Bits per second from a rate with its unit: `100 Mbit/s`. */
export function parseRate(text: string): number | string {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]+\/s)\s*$/.exec(text);
  const unit = m ? RATE[m[2] as string] : undefined;
  if (!m || unit === undefined) {
    return `${
      JSON.stringify(text)
    } is not a rate with a unit, like "100 Mbit/s" (bit/s, kbit/s, Mbit/s, Gbit/s, Tbit/s)`;
  }
  return Number(m[1]) * unit;
}

/** True when `zone` is an IANA time zone this runtime knows. */
export function isTimeZone(zone: string): boolean {
  return zoneId(zone) !== undefined;
}

function table(raw: unknown, key: string, bad: Bad): Record<string, unknown> | undefined {
  if (typeof raw === "object" && raw !== null && !Array.isArray(raw) && !(raw instanceof Date)) {
    return raw as Record<string, unknown>;
  }
  bad(key, "must be a table");
  return undefined;
}

function unknownKeys(doc: Record<string, unknown>, known: readonly string[], at: string, bad: Bad): void {
  for (const k in doc) {
    if (!known.includes(k)) bad(`${at}.${k}`, unknownKey(k, known));
  }
}

/**
 * Reads `cycle_day` and `timezone` from `doc` (the table at `at`) over
 * `base`; `base` itself when `doc` sets neither, so the customers of one
 * billing share one object.
 */
function billingOf(doc: Record<string, unknown>, at: string, base: Billing, bad: Bad): Billing {
  if (doc.cycle_day === undefined && doc.timezone === undefined) return base;
  const out: Billing = { ...base };
  if (doc.cycle_day !== undefined) {
    const d = doc.cycle_day;
    if (typeof d !== "number" || !Number.isInteger(d) || d < 1 || d > 31) {
      bad(`${at}.cycle_day`, `${JSON.stringify(d)} must be a day of the month, 1 to 31`);
    } else out.cycleDay = d;
  }
  if (doc.timezone !== undefined) {
    const z = doc.timezone;
    if (typeof z !== "string" || !isTimeZone(z)) {
      const near = typeof z === "string" ? closestZone(z) : undefined;
      bad(
        `${at}.timezone`,
        `${JSON.stringify(z)} is not a time zone name ${
          near === undefined ? 'like "Europe/Berlin" or "UTC"' : `(did you mean ${JSON.stringify(near)}?)`
        }`,
      );
    } else out.timeZone = z;
  }
  return out;
}

/** Validates `[billing]`; the default is cycles from the 1st, in the machine's local time. */
export function parseBilling(raw: unknown, bad: Bad): Billing {
  const base: Billing = { cycleDay: 1 };
  if (raw === undefined) return base;
  const doc = table(raw, "billing", bad);
  if (!doc) return base;
  unknownKeys(doc, ["cycle_day", "timezone"], "billing", bad);
  return billingOf(doc, "billing", base, bad);
}

const CUSTOMER_KEYS = [
  "name",
  "meters",
  "quota",
  "count",
  "alert_at",
  "alert_projected",
  "commit",
  "alert_to",
  "statement_to",
  "cycle_day",
  "timezone",
];
// deno-lint-ignore no-control-regex
const NAME = /^[^\0-\x1f\x7f]{1,64}$/;
const EMAIL =
  /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)*$/;

const ascending = (a: number, b: number) => a - b;

/** The thresholds without `alert_at`: one list all such customers share (nothing changes a parsed config). */
const DEFAULT_ALERT_AT: number[] = [80, 100];

/** `alert_at` of the customer at `at`: distinct percentages, ascending. */
function thresholds(raw: unknown, at: string, bad: Bad): number[] | undefined {
  if (raw === undefined) return undefined;
  if (!Array.isArray(raw) || raw.length === 0) {
    bad(`${at}.alert_at`, "must be a list of percentages, like [80, 100]");
    return undefined;
  }
  const out: number[] = [];
  let sorted = true;
  for (let i = 0; i < raw.length; i++) {
    const v = raw[i];
    if (typeof v !== "number" || !(v > 0) || v > 1000) {
      bad(`${at}.alert_at[${i + 1}]`, `${JSON.stringify(v)} must be a percentage above 0 and at most 1000`);
    } else if (!out.includes(v)) {
      sorted &&= out.length === 0 || v > (out[out.length - 1] as number);
      out.push(v);
    }
  }
  // Written in order, as usual: no sort (a comparator call per pair, for each of a thousand customers every report).
  return sorted ? out : out.sort(ascending);
}

/** The addresses of `key` (a string or a list) in the customer at `at`. */
function recipients(raw: unknown, at: string, key: string, bad: Bad): string[] | undefined {
  if (raw === undefined) return undefined;
  const items: unknown[] = Array.isArray(raw) ? raw : [raw];
  const out: string[] = [];
  for (let i = 0; i < items.length; i++) {
    const v = items[i];
    if (typeof v !== "string" || !EMAIL.test(v) || v.length > 254) {
      const where = Array.isArray(raw) ? `${at}.${key}[${i + 1}]` : `${at}.${key}`;
      bad(where, `${JSON.stringify(v)} is not a mail address like billing@example.org`);
    } else out.push(v);
  }
  return out.length > 0 ? out : undefined;
}

const notAName = (m: unknown) => typeof m !== "string" || m === "";

/**
 * Validates the `[[customer]]` tables; their meters are matched to columns by {@linkcode customerColumns}.
 *
 * Every report runs this for every customer, as code the runtime has not
 * compiled yet: the loop avoids what allocates there (iterators, spreads,
 * closures, key names built before a problem needs them), since with a
 * thousand customers the garbage collector's passes were most of its cost.
 */
export function parseCustomers(raw: unknown, billing: Billing, bad: Bad): CustomerSpec[] {
  if (raw === undefined) return [];
  if (!Array.isArray(raw)) {
    bad("customer", "must be an array of tables ([[customer]])");
    return [];
  }
  const out: CustomerSpec[] = [];
  const seen = new Map<string, number>();
  for (let i = 0; i < raw.length; i++) {
    const at = `customer[${i + 1}]`;
    const doc = table(raw[i], at, bad);
    if (!doc) continue;
    unknownKeys(doc, CUSTOMER_KEYS, at, bad);
    const name = doc.name;
    if (typeof name !== "string" || !NAME.test(name)) {
      bad(`${at}.name`, `${JSON.stringify(name)} must be a name of 1 to 64 characters, no control characters`);
      continue;
    }
    const lower = name.toLowerCase();
    const first = seen.get(lower);
    if (first !== undefined) bad(`${at}.name`, `${JSON.stringify(name)} is already the name of customer[${first}]`);
    seen.set(lower, i + 1);
    const meters = Array.isArray(doc.meters) ? doc.meters : doc.meters === undefined ? [name] : [doc.meters];
    if (meters.length === 0 || meters.some(notAName)) {
      bad(`${at}.meters`, 'must be a list of meter or log column names (or "*" for all)');
      continue;
    }
    const spec: CustomerSpec = { name, meters: meters as string[], billing: billingOf(doc, at, billing, bad) };
    if (doc.meters === undefined) spec.metersOmitted = true;
    let count: Count = "total";
    if (doc.count !== undefined) {
      if (doc.count === "in" || doc.count === "out" || doc.count === "total") count = doc.count;
      else bad(`${at}.count`, `${JSON.stringify(doc.count)} is not one of in, out, total`);
    }
    const alertAt = thresholds(doc.alert_at, at, bad);
    if (doc.alert_projected !== undefined && typeof doc.alert_projected !== "boolean") {
      bad(`${at}.alert_projected`, `must be true or false, not ${JSON.stringify(doc.alert_projected)}`);
    }
    if (doc.quota !== undefined) {
      const bytes = typeof doc.quota === "string"
        ? parseBytes(doc.quota)
        : `${JSON.stringify(doc.quota)} is not a size with a unit, like "500 GiB"`;
      if (typeof bytes === "string") bad(`${at}.quota`, bytes);
      else if (bytes <= 0n) bad(`${at}.quota`, "must be more than 0 bytes");
      else {
        spec.quota = {
          bytes,
          count,
          alertAt: alertAt ?? DEFAULT_ALERT_AT,
          alertProjected: doc.alert_projected === true,
        };
        if (decimalSize(doc.quota as string)) spec.quota.decimal = true;
      }
    } else if (doc.count !== undefined || doc.alert_projected !== undefined) {
      bad(`${at}.quota`, "count and alert_projected need a quota");
    }
    if (doc.commit !== undefined) {
      const bps = typeof doc.commit === "string"
        ? parseRate(doc.commit)
        : `${JSON.stringify(doc.commit)} is not a rate with a unit, like "100 Mbit/s"`;
      if (typeof bps === "string") bad(`${at}.commit`, bps);
      else if (!(bps > 0)) bad(`${at}.commit`, "must be more than 0 bit/s");
      else spec.commit = { bps, alertAt: alertAt ?? DEFAULT_ALERT_AT };
    }
    if (alertAt && doc.quota === undefined && doc.commit === undefined) {
      bad(`${at}.alert_at`, "needs a quota or a commit");
    }
    const alertTo = recipients(doc.alert_to, at, "alert_to", bad);
    if (alertTo) spec.alertTo = alertTo;
    const statementTo = recipients(doc.statement_to, at, "statement_to", bad);
    if (statementTo) spec.statementTo = statementTo;
    out.push(spec);
  }
  return out;
}

/** The direction a log column counts: from its meter, else from its name (`-inbound`, `:rx`, …). */
export function columnDirection(column: string, known?: Direction): Direction | undefined {
  if (known) return known;
  if (/-inbound(-v[46])?$|:rx$/.test(column)) return "in";
  if (/-outbound(-v[46])?$|:tx$/.test(column)) return "out";
  return undefined;
}

/** The columns a meter named NAME writes: NAME itself, or NAME with these (split meters, interfaces). */
export const SUFFIXES: readonly string[] = [
  "-inbound",
  "-outbound",
  "-v4",
  "-v6",
  "-inbound-v4",
  "-inbound-v6",
  "-outbound-v4",
  "-outbound-v6",
  ":rx",
  ":tx",
];

/** What a name matching no column matches: one list for all of them (never changed). */
const NONE: readonly Column[] = [];

const byColumnName = (a: Column, b: Column) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0;

/**
 * Matches each customer's meters to log columns. A name matches the column
 * of that name and each column that is the name with a split's suffix
 * (`acme-inbound`, `acme-v6`, `eth0:rx`): a meter's columns over the whole
 * log, so a meter split by direction (or family) within the log, or no longer
 * split, is all of its columns, before and after. But not a column the
 * config gives another meter ({@linkcode Column.meter}): where the config
 * writes the name's own column, or has a meter of that name, the name is that
 * meter and no other (a meter named `acme-v6` beside `acme`, or
 * `acme-inbound` split by family, writing `acme-inbound-v4`, is not acme's);
 * where it has neither, the name's suffixed columns are all its (`eth0`'s
 * `eth0:rx`; `acme` over meters `acme-v4` and `acme-v6`; `acme-inbound`
 * over the columns `acme-inbound-v4`, `acme-inbound-v6` of a meter `acme`
 * split both ways). So over the config's own columns, a name matches the
 * column of that name, else its meter's split columns, as the config says.
 * `*` is every column. A name matching nothing is an error naming the key;
 * several meters add up, a column counting once.
 *
 * `past` names columns the log has had (the cycle tally's, at a report)
 * beside `columns`: those `columns` lacks are matched as columns only the log
 * has, after `columns`, by name.
 *
 * `only` keeps the customers it is true of (a report's, with a quota or a
 * commit): the result has one entry per kept customer, in order, and an
 * error numbers a customer by its place in `specs`, as the config does.
 *
 * @example
 * ```ts
 * customerColumns([{ name: "acme", meters: ["acme"], billing: { cycleDay: 1 } }],
 *   [{ name: "acme-inbound", label: "", direction: "in" }, { name: "acme-outbound", label: "", direction: "out" }]);
 * // [{ name: "acme", in: ["acme-inbound"], out: ["acme-outbound"], both: [] }]
 * ```
 */
export function customerColumns(
  specs: readonly CustomerSpec[],
  columns: readonly Column[],
  where = "config",
  past?: Iterable<string>,
  only?: (spec: CustomerSpec) => boolean,
): CustomerColumns[] {
  const byName = new Map<string, Column>();
  /** The names that columns no meter of the config writes (few: meters since split, unsplit or removed) extend. */
  const stems = new Set<string>();
  const stem = (name: string) => {
    for (let k = 0; k < SUFFIXES.length; k++) {
      const s = SUFFIXES[k] as string;
      if (name.length > s.length && name.endsWith(s)) stems.add(name.slice(0, name.length - s.length));
    }
  };
  for (let k = 0; k < columns.length; k++) {
    const col = columns[k] as Column;
    byName.set(col.name, col);
    if (col.meter === undefined) stem(col.name);
  }
  let all = columns;
  if (past !== undefined) {
    let added: Column[] | undefined;
    for (const name of past) {
      if (byName.has(name)) continue;
      const col: Column = { name, label: name };
      byName.set(name, col);
      stem(name);
      (added ??= []).push(col);
    }
    // By name: the same list whatever order the tally keeps them in (a commit customer's columns are in its plan).
    if (added !== undefined) all = [...columns, ...added.sort(byColumnName)];
  }
  // What a meter name matches, and each column's direction, worked out once for all customers: many share a meter
  // (the uplink, "*"), and every customer of a report is matched on every run.
  const matches = new Map<string, readonly Column[]>();
  const matching = (m: string): readonly Column[] => {
    let found = matches.get(m);
    if (found === undefined) {
      found = m === "*" ? all : named(m);
      matches.set(m, found);
    }
    return found;
  };
  const named = (m: string): readonly Column[] => {
    const own = byName.get(m);
    // The config writes the name's column (the usual case), and no column only the log has extends the name: that
    // column, with no lookups (a thousand customers on every report).
    const configured = own?.meter !== undefined;
    if (configured && !stems.has(m)) return [own as Column];
    let suffixed: Column[] | undefined;
    for (let k = 0; k < SUFFIXES.length; k++) {
      const col = byName.get(m + (SUFFIXES[k] as string));
      if (col !== undefined) (suffixed ??= []).push(col);
    }
    if (suffixed === undefined) return own ? [own] : NONE;
    // The config's meter of this name, when it has one that is split: its columns, not other meters'.
    const meter = !configured && suffixed.some((col) => col.meter === m);
    const found = own ? [own] : [];
    for (let k = 0; k < suffixed.length; k++) {
      const col = suffixed[k] as Column;
      if (col.meter === undefined || (!configured && (!meter || col.meter === m))) found.push(col);
    }
    return found.length > 0 ? found : NONE;
  };
  const directions = new Map<Column, Direction | undefined>();
  const directionOf = (col: Column): Direction | undefined => {
    if (!directions.has(col)) directions.set(col, columnDirection(col.name, col.direction));
    return directions.get(col);
  };
  // A meter's columns by direction, made once: a customer of one meter (the usual case) shares its lists (no code
  // changes a CustomerColumns list), so a thousand customers matched on every report allocate no lists of their own.
  const splits = new Map<string, Omit<CustomerColumns, "name">>();
  const splitOf = (m: string, matched: readonly Column[]) => {
    let split = splits.get(m);
    if (split === undefined) {
      split = { in: [], out: [], both: [] };
      for (let k = 0; k < matched.length; k++) {
        const col = matched[k] as Column;
        const d = directionOf(col);
        (d === "in" ? split.in : d === "out" ? split.out : split.both).push(col.name);
      }
      splits.set(m, split);
    }
    return split;
  };
  const problems: string[] = [];
  const out: CustomerColumns[] = [];
  for (let i = 0; i < specs.length; i++) {
    const spec = specs[i] as CustomerSpec;
    if (only !== undefined && !only(spec)) continue;
    const one = spec.meters.length === 1 && spec.meters[0] !== "*" ? spec.meters[0] as string : undefined;
    const oneMatched = one === undefined ? undefined : matching(one);
    if (oneMatched !== undefined && oneMatched.length > 0) {
      const split = splitOf(one as string, oneMatched);
      out.push({ name: spec.name, in: split.in, out: split.out, both: split.both });
      continue;
    }
    const c: CustomerColumns = { name: spec.name, in: [], out: [], both: [] };
    // A named meter's columns are distinct (found by distinct names): only several meters, or "*" over a list that
    // repeats a name, can give a column twice.
    const taken = spec.meters.length > 1 || spec.meters[0] === "*" ? new Set<string>() : undefined;
    for (let j = 0; j < spec.meters.length; j++) {
      const m = spec.meters[j] as string;
      const matched = matching(m);
      if (matched.length === 0) {
        const key = spec.metersOmitted
          ? `customer[${i + 1}].name: ${JSON.stringify(m)} (no meters given: its own name)`
          : `customer[${i + 1}].meters[${j + 1}]: ${JSON.stringify(m)}`;
        problems.push(
          `${where}: ${key} matches no meter or column (columns: ${all.map((col) => col.name).join(", ") || "none"})`,
        );
      }
      for (let k = 0; k < matched.length; k++) {
        const col = matched[k] as Column;
        if (taken) {
          if (taken.has(col.name)) continue;
          taken.add(col.name);
        }
        const d = directionOf(col);
        (d === "in" ? c.in : d === "out" ? c.out : c.both).push(col.name);
      }
    }
    out.push(c);
  }
  if (problems.length > 0) throw new CustomerMatchError(problems.join("\n"));
  return out;
}

/** A customer naming a meter or column there is none of. */
export class CustomerMatchError extends Error {
  override name = "CustomerMatchError";
}
