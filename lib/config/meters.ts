/**
 * What a meter counts, as the firewall rules that count it.
 *
 * A meter in the config is a name plus a match. It is counted in one log
 * column, or in several when it is split by direction (`NAME-inbound`,
 * `NAME-outbound`, as the 2004 pf setup labelled its rules) or by address
 * family (`NAME-v4`, `NAME-v6`). Each column is fed by one or more
 * {@linkcode MeterRule}s: one per hook, address family and (for iptables,
 * which has no sets) address pair. Sources turn rules into their own
 * syntax; the column's value is the sum of its rules' counters.
 *
 * @module
 */

/** The built-in chains (netfilter hooks) a meter's rule can hook. */
/** An interface match, e.g. `eth0`, `!eth0`, `veth+`. */
export interface InterfaceMatch {
  /** Everything but this interface. */
  negated: boolean;
  /** The name, with iptables' trailing `+` wildcard if any. */
  name: string;
}

export const HOOKS = ["INPUT", "OUTPUT", "FORWARD"] as const;
/** A built-in chain a meter's rule hooks. */
export type Hook = typeof HOOKS[number];

/** An address family. */
export type Family = 4 | 6;

/** A list of networks, all negated (`!`: none of them) or none negated. */
export interface AddressList {
  /** True for "everything but these". */
  negated: boolean;
  /** Canonical IPv4 CIDRs, e.g. `192.0.2.0/24`. */
  v4: string[];
  /** Canonical IPv6 CIDRs, e.g. `2001:db8::/32`. */
  v6: string[];
}

/** Traffic towards the meter's `address` (inbound) or from it (outbound). */
export type Direction = "in" | "out";

/** One thing to count, as validated from the config. */
export interface Meter {
  /** Unique name: the log column (when not split) and rule comment. */
  name: string;
  /** Word used for it in the report (the original's "Proxied", "Off Network"). */
  label: string;
  /** Chains its rules hook. With `address`, defaults per direction. */
  hooks: Hook[];
  /** Source networks. */
  from?: AddressList;
  /** Destination networks. */
  to?: AddressList;
  /** The metered party's networks: `to` for inbound, `from` for outbound (none: the machine itself). */
  address?: AddressList;
  /** Directions counted: `address` as destination and/or source, or the machine's own in and out. */
  directions?: Direction[];
  /** Input interface match. */
  in?: InterfaceMatch;
  /** Output interface match. */
  out?: InterfaceMatch;
  /** Address families counted. */
  families: Family[];
  /** Separate columns per direction and/or family. */
  split: { direction: boolean; family: boolean };
}

/** One log column of a meter. */
export interface Column {
  /** Column name: the meter's, or with `-inbound`/`-outbound`/`-v4`/`-v6`. */
  name: string;
  /** Word for it in the report. */
  label: string;
  /** The one direction it counts, when it counts one (an `address` meter split by direction, or with one). */
  direction?: Direction;
  /**
   * The config's meter that writes it; absent for a column only the log has
   * (a meter since removed, or since split or unsplit): customers are matched
   * to a meter's columns by it (lib/config/customers.ts).
   */
  meter?: string;
}

/** One firewall rule feeding a column: a match on one family in one hook. */
export interface MeterRule {
  /** The column it counts for. */
  column: string;
  /** The meter it belongs to. */
  meter: string;
  /** The hook. */
  hook: Hook;
  /** Its address family. */
  family: Family;
  /** Which direction of an `address` meter it counts. */
  direction?: Direction;
  /** Source networks of this family (several only for sources with sets). */
  from?: { negated: boolean; cidrs: string[] };
  /** Destination networks of this family. */
  to?: { negated: boolean; cidrs: string[] };
  /** Input interface. */
  in?: InterfaceMatch;
  /** Output interface. */
  out?: InterfaceMatch;
}

/** Column name suffixes of a split meter. */
const DIRECTION_SUFFIX: Record<Direction, string> = { in: "-inbound", out: "-outbound" };
const DIRECTION_LABEL: Record<Direction, string> = { in: " in", out: " out" };

/**
 * The hooks inbound or outbound traffic of an address passes: INPUT or
 * FORWARD, OUTPUT or FORWARD, never both. Without an address, inbound and
 * outbound are the machine's own: INPUT and OUTPUT.
 */
export const DIRECTION_HOOKS: Record<Direction, Hook[]> = { in: ["INPUT", "FORWARD"], out: ["OUTPUT", "FORWARD"] };

/** The hooks a meter's rules for `direction` hook: as configured, else by direction, else INPUT. */
export function meterHooks(m: Meter, direction?: Direction): Hook[] {
  if (m.hooks.length > 0) return m.hooks;
  if (!direction) return m.directions ? m.directions.flatMap((d) => meterHooks(m, d)) : ["INPUT"];
  if (m.address) return DIRECTION_HOOKS[direction];
  return [direction === "in" ? "INPUT" : "OUTPUT"];
}

interface Variant {
  column: string;
  label: string;
  family: Family;
  direction?: Direction;
}

/** The common meter: one family, no direction, no split; one column, its name. 10,000 of them must be quick. */
function isPlain(m: Meter): boolean {
  return !m.directions && m.families.length === 1 && !m.split.family;
}

/** The (direction, family) combinations of a meter, each with its column. */
function variants(m: Meter): Variant[] {
  if (isPlain(m)) {
    return [{ column: m.name, label: m.label, family: m.families[0] as Family }];
  }
  const out: Variant[] = [];
  const dirs: (Direction | undefined)[] = m.directions ?? [undefined];
  for (const d of dirs) {
    for (const f of m.families) {
      let column = m.name;
      let label = m.label;
      if (d && m.split.direction) {
        column += DIRECTION_SUFFIX[d];
        label += DIRECTION_LABEL[d];
      }
      if (m.split.family) {
        column += `-v${f}`;
        label += ` IPv${f}`;
      }
      out.push(d ? { column, label, family: f, direction: d } : { column, label, family: f });
    }
  }
  return out;
}

/** A meter counted in one column, its name (the common meter: no direction, not split by family). */
function isOneColumn(m: Meter): boolean {
  return !m.directions && !m.split.family;
}

/** The meter's log columns, in order. */
export function meterColumns(m: Meter): Column[] {
  if (isOneColumn(m)) return [{ name: m.name, label: m.label, meter: m.name }]; // one column whatever the families
  const seen = new Set<string>();
  const cols: Column[] = [];
  const one = m.directions?.length === 1 ? m.directions[0] : undefined;
  for (const v of variants(m)) {
    if (seen.has(v.column)) continue;
    seen.add(v.column);
    const direction = m.split.direction ? v.direction : one;
    const col: Column = { name: v.column, label: v.label, meter: m.name };
    if (direction) col.direction = direction;
    cols.push(col);
  }
  return cols;
}

/** The columns of all meters, in config order. */
export function allColumns(meters: readonly Meter[]): Column[] {
  return meters.flatMap(meterColumns);
}

/**
 * The log's columns `names` as the config's `meters` know them: one a meter
 * writes is that meter's ({@linkcode Column.meter}), with its label and
 * direction; any other, a column only the log has, by its name alone (its
 * direction then the one its name says).
 */
export function columnsAsConfigured(names: readonly string[], meters: readonly Meter[]): Column[] {
  const known = new Map<string, Column>();
  for (const c of allColumns(meters)) known.set(c.name, c);
  return names.map((name) => known.get(name) ?? { name, label: name });
}

/**
 * The names of {@linkcode allColumns}, without making a column for each
 * meter counted in one (at 10,000 meters, on every report's path).
 */
export function columnNames(meters: readonly Meter[]): string[] {
  const names: string[] = [];
  meters.forEach((m) => {
    if (isOneColumn(m)) names.push(m.name);
    else meterColumns(m).forEach((c) => names.push(c.name));
  });
  return names;
}

/**
 * The meters as the columns they are, when every meter is counted in one
 * column (its name, its label): then they are their own column list, and
 * nothing is made; undefined otherwise. For labels: they carry no `meter`,
 * so customers are matched to {@linkcode allColumns}, not to these.
 */
export function meterAsColumns(meters: readonly Meter[]): readonly Column[] | undefined {
  return meters.every(isOneColumn) ? meters : undefined;
}

function ofFamily(list: AddressList | undefined, f: Family): { negated: boolean; cidrs: string[] } | undefined {
  if (!list) return undefined;
  const cidrs = f === 4 ? list.v4 : list.v6;
  // A negated list with nothing of this family excludes nothing of it.
  if (cidrs.length === 0) return undefined;
  return { negated: list.negated, cidrs };
}

/** A plain meter with one hook and at most one network a side: one rule (10,000 of them must be quick). */
function isOneRule(m: Meter): boolean {
  if (!isPlain(m) || m.hooks.length > 1 || m.address) return false;
  const f = m.families[0] as Family;
  return networksOf(m.from, f) <= 1 && networksOf(m.to, f) <= 1;
}

/** How many networks of family `f` a list has (0 without a list). */
function networksOf(list: AddressList | undefined, f: Family): number {
  return list ? (f === 4 ? list.v4 : list.v6).length : 0;
}

/**
 * The address families of meter `m`'s rules (those {@linkcode meterRules}
 * makes), without making the one rule of the common meter: a source can
 * start its counter read before it works out 10,000 rules.
 */
export function ruleFamilies(m: Meter): readonly Family[] {
  if (isOneRule(m)) return m.families; // a plain meter has one family
  return [...new Set(meterRules(m, true).map((r) => r.family))];
}

/**
 * The rules that count meter `m`. With `oneAddressPerRule` (iptables, which
 * has no sets) a rule per source and destination network pair; otherwise
 * each rule matches its whole lists (nftables sets, pf tables).
 */
export function meterRules(m: Meter, oneAddressPerRule: boolean): MeterRule[] {
  if (isOneRule(m)) {
    const family = m.families[0] as Family;
    const from = ofFamily(m.from, family), to = ofFamily(m.to, family);
    const r: MeterRule = { column: m.name, meter: m.name, hook: m.hooks[0] ?? "INPUT", family };
    if (from) r.from = from;
    if (to) r.to = to;
    if (m.in && r.hook !== "OUTPUT") r.in = m.in;
    if (m.out && r.hook !== "INPUT") r.out = m.out;
    return [r];
  }
  const rules: MeterRule[] = [];
  for (const v of variants(m)) {
    const from = ofFamily(v.direction === "out" ? m.address : m.from, v.family);
    const to = ofFamily(v.direction === "in" ? m.address : m.to, v.family);
    const hooks = meterHooks(m, v.direction);
    const split = (x: typeof from) =>
      x && oneAddressPerRule && !x.negated ? x.cidrs.map((c) => ({ negated: false, cidrs: [c] })) : [x];
    for (const hook of hooks) {
      // No packet in OUTPUT has an input interface, none in INPUT an output one:
      // a rule requiring one there can never match, one excluding it needs no match.
      if ((hook === "OUTPUT" && m.in && !m.in.negated) || (hook === "INPUT" && m.out && !m.out.negated)) continue;
      for (const f of split(from)) {
        for (const t of split(to)) {
          const r: MeterRule = { column: v.column, meter: m.name, hook, family: v.family };
          if (v.direction) r.direction = v.direction;
          if (f) r.from = f;
          if (t) r.to = t;
          if (m.in && hook !== "OUTPUT") r.in = m.in;
          if (m.out && hook !== "INPUT") r.out = m.out;
          rules.push(r);
        }
      }
    }
  }
  return rules;
}
