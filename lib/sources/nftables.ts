/**
 * The nftables source: netmon's own `inet` table (one table for IPv4 and
 * IPv6) with one named counter per log column and base chains on the hooks
 * the meters use, whose rules feed the counters. Changed in one `nft -j -f -`
 * transaction written as JSON (so no config value is ever parsed as nft
 * syntax), read with one `nft -j list table`. Other tables are never touched.
 *
 * @module
 */

import type { Runner } from "../host/run.ts";
import { noSuchObject } from "../host/run.ts";
import type { Config, InterfaceMatch } from "../config/config.ts";
import { DataError, EX, NetmonError } from "../host/errors.ts";
import { parseExactJson } from "../host/json.ts";
import { type Advice, AdvisedError } from "../host/invocation.ts";
import { allColumns, type Hook, type MeterRule, meterRules } from "../config/meters.ts";
import { type CounterSource, firstThree, type MeterStatus, type Plan, type Reading } from "./source.ts";

/** Comment prefix of netmon's rules. */
const PREFIX = "netmon:";
/** Just before iptables' and most nftables filter chains (priority 0), as the original's rule at position 1. */
const PRIORITY = -1;
const TWO64 = 1n << 64n;

/** What `nft -j list table` shows of netmon's table. */
export interface NftTable {
  /** The table's handle: a table deleted and made again gets a new one. */
  handle?: bigint;
  /** Named counters by name, with their handle (new for a counter made again) where nft gives it. */
  counters: Map<string, { packets: bigint; bytes: bigint; handle?: bigint }>;
  /** Chains by name, with their hook and priority ("" for a regular chain). */
  chains: Map<string, { hook: string; prio: bigint | undefined }>;
  /** Rules: chain, comment (may be ""), and the counter each references. */
  rules: { chain: string; comment: string; counter?: string }[];
}

type Json = Record<string, unknown>;

/**
 * Parses `nft -j list table FAMILY NAME` output for that table. Counter
 * values above 2^63-1 come back negative from nft's JSON (2^64-1 as `-1`);
 * they are mapped back to the unsigned value the kernel holds.
 */
export function parseNftTable(text: string, family: string, table: string, where = "nft -j"): NftTable {
  let doc: unknown;
  try {
    doc = parseExactJson(text);
  } catch (err) {
    throw new DataError(`${where}: not JSON: ${err instanceof Error ? err.message : err}`);
  }
  const items = (doc as Json | undefined)?.nftables;
  if (!Array.isArray(items)) throw new DataError(`${where}: expected {"nftables": [...]}`);
  const out: NftTable = { counters: new Map(), chains: new Map(), rules: [] };
  const unsigned = (v: unknown, what: string): bigint => {
    if (typeof v !== "bigint") throw new DataError(`${where}: ${what} is not a whole number`);
    return v < 0n ? v + TWO64 : v;
  };
  for (const item of items as Json[]) {
    const [kind, body] = Object.entries(item)[0] ?? [];
    const o = body as Json | undefined;
    if (!o || o.family !== family || (kind === "table" ? o.name : o.table) !== table) continue;
    if (kind === "table" && typeof o.handle === "bigint") out.handle = o.handle;
    else if (kind === "counter" && typeof o.name === "string") {
      out.counters.set(o.name, {
        packets: unsigned(o.packets, `counter ${o.name} packets`),
        bytes: unsigned(o.bytes, `counter ${o.name} bytes`),
        ...(typeof o.handle === "bigint" ? { handle: o.handle } : {}),
      });
    } else if (kind === "chain" && typeof o.name === "string") {
      out.chains.set(o.name, { hook: typeof o.hook === "string" ? o.hook : "", prio: o.prio as bigint | undefined });
    } else if (kind === "rule" && typeof o.chain === "string") {
      const rule: NftTable["rules"][number] = {
        chain: o.chain,
        comment: typeof o.comment === "string" ? o.comment : "",
      };
      for (const e of Array.isArray(o.expr) ? o.expr as Json[] : []) {
        if (typeof e.counter === "string") rule.counter = e.counter;
      }
      out.rules.push(rule);
    }
  }
  return out;
}

const HOOK_CHAIN: Record<Hook, string> = { INPUT: "input", OUTPUT: "output", FORWARD: "forward" };

/** The right-hand side of an address match: one address, one prefix, or an anonymous set. */
function addressValue(cidrs: string[]): unknown {
  const one = (cidr: string) => {
    const [addr, len] = cidr.split("/") as [string, string];
    return len === (addr.includes(":") ? "128" : "32") ? addr : { prefix: { addr, len: Number(len) } };
  };
  return cidrs.length === 1 ? one(cidrs[0] as string) : { set: cidrs.map(one) };
}

function ifaceMatch(key: "iifname" | "oifname", m: InterfaceMatch): Json {
  // iptables' trailing + wildcard is nft's trailing *.
  const name = m.name.endsWith("+") ? `${m.name.slice(0, -1)}*` : m.name;
  return { match: { op: m.negated ? "!=" : "==", left: { meta: { key } }, right: name } };
}

/** The expressions of one rule, ending in its named counter. */
function ruleExpr(r: MeterRule): Json[] {
  const expr: Json[] = [];
  const proto = r.family === 4 ? "ip" : "ip6";
  if (!r.from && !r.to) {
    expr.push({ match: { op: "==", left: { meta: { key: "nfproto" } }, right: r.family === 4 ? "ipv4" : "ipv6" } });
  }
  for (const [field, m] of [["saddr", r.from], ["daddr", r.to]] as const) {
    if (!m) continue;
    expr.push({
      match: {
        op: m.negated ? "!=" : "==",
        left: { payload: { protocol: proto, field } },
        right: addressValue(m.cidrs),
      },
    });
  }
  if (r.in) expr.push(ifaceMatch("iifname", r.in));
  if (r.out) expr.push(ifaceMatch("oifname", r.out));
  expr.push({ counter: r.column });
  return expr;
}

/** A short fingerprint of a rule's match, so an installed rule is known current by its comment alone. */
function fingerprint(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, "0");
}

/** A wanted rule: its chain, comment and JSON. */
interface Wanted {
  rule: MeterRule;
  chain: string;
  comment: string;
  expr: Json[];
}

/** The nftables counter source. */
export class NftablesSource implements CounterSource {
  readonly name = "nftables";
  readonly warnings: string[] = [];
  private readonly wanted: Wanted[];
  private readonly columns: string[];
  constructor(private readonly config: Config, private readonly run: Runner) {
    this.columns = allColumns(config.meters).map((c) => c.name);
    this.wanted = config.meters.flatMap((m) => meterRules(m, false)).map((rule) => {
      const expr = ruleExpr(rule);
      const chain = HOOK_CHAIN[rule.hook];
      return { rule, chain, expr, comment: `${PREFIX}${rule.column} ${fingerprint(chain + JSON.stringify(expr))}` };
    });
  }

  private get table(): Json {
    return { family: "inet", name: this.config.table };
  }

  private describe(): string {
    return `table inet ${this.config.table}`;
  }

  /** The installed table, or undefined when there is none; refused when it holds what netmon did not make. */
  private async installed(): Promise<NftTable | undefined> {
    const { t, foreign } = await this.look(this.config.table);
    if (foreign) {
      throw new NetmonError(
        `${this.describe()} holds ${foreign}: it is not netmon's; set table = "..." in the config to another name`,
        EX.CONFIG,
      );
    }
    return t;
  }

  /**
   * Table `name` (inet) as installed, undefined when there is none, and what
   * it holds that netmon did not make, if anything: a rule without netmon's
   * comment, or a chain not on one of netmon's hooks.
   */
  private async look(name: string): Promise<{ t: NftTable | undefined; foreign?: string }> {
    let stdout: string;
    try {
      ({ stdout } = await this.run(this.config.binaries.nft, ["-j", "list", "table", "inet", name]));
    } catch (err) {
      if (noSuchObject(err)) return { t: undefined };
      throw err;
    }
    const t = parseNftTable(stdout, "inet", name, `${this.config.binaries.nft} -j list table`);
    const foreign = t.rules.find((r) => !r.comment.startsWith(PREFIX));
    const hookChains = new Set(Object.values(HOOK_CHAIN));
    const strange = [...t.chains.keys()].find((c) => !hookChains.has(c));
    if (foreign) return { t, foreign: `a rule netmon did not make (in chain ${foreign.chain})` };
    if (strange) return { t, foreign: `a chain netmon did not make (${strange})` };
    return { t };
  }

  /**
   * The removal of the table this config's last start installed its counters
   * in (`former` table, when the record names one the config no longer does),
   * or a note on why it stays: it holds what netmon did not make, or counters
   * of meters that start did not install (another config's since).
   */
  private async formerTable(
    name: string | undefined,
    former: ReadonlySet<string>,
    stop = false,
  ): Promise<{ ops: Json[]; notes: string[] }> {
    if (name === undefined || name === this.config.table) return { ops: [], notes: [] };
    const { t, foreign } = await this.look(name);
    if (!t) return { ops: [], notes: [] };
    const others = [...t.counters.keys()].filter((c) => !former.has(c));
    if (foreign || others.length > 0) {
      const why = foreign ?? `counters of meters this config's last start did not install (${others.join(", ")})`;
      return { ops: [], notes: [`keep table inet ${name}, which this config used before: it holds ${why}`] };
    }
    const what = `table inet ${name} (no longer this config's)`;
    return {
      ops: [{ delete: { table: { family: "inet", name } } }],
      notes: [stop ? contents(what, t) : `delete ${what}`],
    };
  }

  /**
   * What a start or stop leaves of the iptables rules this config's last start
   * installed, when that start was under `source = "iptables"` (the record
   * names a chain): said, not removed.
   */
  private formerIptables(chain: string | undefined, former: ReadonlySet<string>): Advice[] {
    if (chain === undefined) return [];
    const names = [...former];
    const shown = firstThree(names);
    return [
      (netmon) =>
        `leave the iptables rules this config's last start installed (chain ${chain}, meter${
          names.length === 1 ? "" : "s"
        } ${shown}): they count on; remove them with '${
          netmon("stop")
        }' with source = "iptables" in the config, or iptables -D`,
    ];
  }

  /**
   * The columns the record lists as this config's in its `table`: those of
   * `former` when the record names this table (or, written before netmon
   * kept it, no table and no iptables chain); none when they are in another
   * table or were iptables rules, so a counter of that name here is not
   * this config's.
   */
  private ownHere(former: ReadonlySet<string>, formerChain?: string, formerTable?: string): ReadonlySet<string> {
    const here = formerChain === undefined && (formerTable === undefined || formerTable === this.config.table);
    return here ? former : new Set();
  }

  /**
   * The config's columns whose counter is installed but whose rules are not
   * exactly those it writes, where the record does not list the column as
   * this config's (`own`): `taken`, whose counters start makes afresh (their
   * count is not this config's: another config's meter of the same name, as
   * far as netmon can tell, whose value this config's next report would
   * bill), and of those `differing`, whose rules are installed
   * ({@linkcode Plan.differing}): another config's meter of the same name in
   * the same table, whose counter start would feed this config's traffic,
   * or this config's meter edited since a start from before netmon kept the
   * record. A counter whose rules are exactly this config's is kept: it may
   * be this config's from before netmon kept the record.
   */
  private takenOver(t: NftTable, own: ReadonlySet<string>): { taken: string[]; differing: string[] } {
    /** Per column not in `own`, its installed rules and the rules the config writes, as `CHAIN COMMENT`. */
    const of = new Map<string, { have: string[]; want: string[] }>();
    for (const c of this.columns) if (!own.has(c) && t.counters.has(c)) of.set(c, { have: [], want: [] });
    if (of.size === 0) return { taken: [], differing: [] }; // as always once the record lists every column
    for (const r of t.rules) of.get(columnOfComment(r.comment))?.have.push(`${r.chain} ${r.comment}`);
    for (const w of this.wanted) of.get(w.rule.column)?.want.push(`${w.chain} ${w.comment}`);
    const taken: string[] = [];
    const differing: string[] = [];
    for (const [c, { have, want }] of of) {
      if (have.length > 0 && have.sort().join("\n") === want.sort().join("\n")) continue;
      taken.push(c);
      // A counter without rules counts nothing: no meter's to ask about, but its value is not this config's either.
      if (have.length > 0) differing.push(`${c} (${this.describe()})`);
    }
    return { taken, differing };
  }

  private command(ops: Json[]): Plan["commands"][number] {
    // One operation per line: readable in --dry-run, and still one transaction.
    const body = ops.map((o) => `  ${JSON.stringify(o)}`).join(",\n");
    return { path: this.config.binaries.nft, args: ["-j", "-f", "-"], stdin: `{"nftables": [\n${body}\n]}\n` };
  }

  /**
   * Brings the table to the config in one transaction: counters are kept
   * (with their values) or added, chains flushed and refilled, stale
   * counters and chains deleted. Nothing changes when all is current. A
   * counter of a column neither the config's nor in `former` is another
   * config's, as far as netmon can tell: see {@linkcode Plan.unknown}; so
   * are the rules of a configured column not in `former` that differ (see
   * {@linkcode Plan.differing}), and its counter, taken over only with
   * `--replace`, is made afresh (deleted and added again: it counts from
   * zero, and the next report bills only what it counted since, see
   * {@linkcode Plan.recreates}); so is the counter of such a column that has
   * no rules. `former` counts only when the record names this table (see
   * `ownHere`). A counter it adds is recorded too: it was made after the
   * last report's sample, under another source's rules before it (a switch
   * from iptables) or none (a meter added), and counts from zero, so the next
   * report bills all it counted, whether or not it passed the value the
   * column had. The table the record names (`formerTable`),
   * when the config names another, is deleted in the same transaction.
   */
  async planStart(former: ReadonlySet<string> = new Set(), formerChain?: string, formerTable?: string): Promise<Plan> {
    const t = await this.installed();
    const old = await this.formerTable(formerTable, former);
    const left = this.formerIptables(formerChain, former);
    const own = this.ownHere(former, formerChain, formerTable);
    const chains = [...new Set(this.wanted.map((w) => w.chain))];
    const current = t !== undefined &&
      this.columns.every((c) => t.counters.has(c)) && t.counters.size === this.columns.length &&
      chains.every((c) => t.chains.get(c)?.hook === c && t.chains.get(c)?.prio === BigInt(PRIORITY)) &&
      t.chains.size === chains.length && sameRules(t.rules, this.wanted);
    if (current) {
      const notes = [
        `all ${this.wanted.length} of the meters' rules are installed in ${this.describe()}: nothing to change`,
      ];
      if (old.ops.length === 0) return { notes: [...notes, ...old.notes, ...left], commands: [] };
      return { notes: [...old.notes, ...left], commands: [this.command(old.ops)] };
    }
    const notes: (string | Advice)[] = [];
    const ops: Json[] = [{ add: { table: this.table } }];
    const unknown: string[] = [];
    if (!t) notes.push(`create ${this.describe()}`);
    const base = { family: "inet", table: this.config.table };
    const { taken, differing } = t ? this.takenOver(t, own) : { taken: [], differing: [] };
    /** Counters made here: they count from zero, and the next report bills all they counted (Plan.recreates). */
    const made: string[] = [];
    for (const c of this.columns) {
      if (taken.includes(c)) continue;
      ops.push({ add: { counter: { ...base, name: c } } });
      if (t?.counters.has(c)) continue;
      notes.push(`add counter ${c}`);
      made.push(c);
    }
    const kept = this.columns.filter((c) => t?.counters.has(c) && !taken.includes(c)).length;
    for (const [name, info] of t?.chains ?? []) {
      const keep = chains.includes(name) && info.hook === name && info.prio === BigInt(PRIORITY);
      ops.push({ flush: { chain: { ...base, name } } });
      if (!keep) {
        ops.push({ delete: { chain: { ...base, name } } });
        if (!chains.includes(name)) notes.push(`delete chain ${name}`);
      }
    }
    // After the flushes, so no rule uses them: made afresh, they count from zero (and get new handles).
    for (const name of taken) {
      ops.push({ delete: { counter: { ...base, name } } }, { add: { counter: { ...base, name } } });
      notes.push(`make counter ${name} afresh (this config's record does not list it: its count is not this config's)`);
    }
    for (const name of chains) {
      ops.push({ add: { chain: { ...base, name, type: "filter", hook: name, prio: PRIORITY, policy: "accept" } } });
    }
    for (const w of this.wanted) {
      ops.push({ add: { rule: { ...base, chain: w.chain, comment: w.comment, expr: w.expr } } });
    }
    notes.push(
      `write ${this.wanted.length} rule${this.wanted.length === 1 ? "" : "s"} in chain${
        chains.length === 1 ? "" : "s"
      } ${chains.join(", ")}`,
    );
    for (const name of t?.counters.keys() ?? []) {
      if (this.columns.includes(name)) continue;
      ops.push({ delete: { counter: { ...base, name } } });
      notes.push(`delete counter ${name} (no meter uses it)`);
      if (!own.has(name)) unknown.push(`${name} (${this.describe()})`);
    }
    if (kept > 0) notes.push(`keep ${kept} counter${kept === 1 ? "" : "s"} and their values`);
    ops.push(...old.ops);
    notes.push(...old.notes, ...left);
    return { notes, commands: [this.command(ops)], unknown, differing, recreates: [...made, ...taken] };
  }

  async planStop(former: ReadonlySet<string> = new Set(), formerChain?: string, formerTable?: string): Promise<Plan> {
    const t = await this.installed();
    const old = await this.formerTable(formerTable, former, true);
    const left = this.formerIptables(formerChain, former);
    if (!t) {
      if (old.ops.length === 0) {
        return {
          notes: [`${this.describe()} is not installed: nothing to change`, ...old.notes, ...left],
          commands: [],
        };
      }
      return { notes: [...old.notes, ...left], commands: [this.command(old.ops)] };
    }
    const own = this.ownHere(former, formerChain, formerTable);
    const unknown = [...t.counters.keys()].filter((c) => !this.columns.includes(c) && !own.has(c))
      .map((c) => `${c} (${this.describe()})`);
    return {
      notes: [contents(this.describe(), t), ...old.notes, ...left],
      commands: [this.command([{ delete: { table: this.table } }, ...old.ops])],
      unknown,
      differing: this.takenOver(t, own).differing,
    };
  }

  /** Reads the table; complains when a column's counter or any of its rules is missing. */
  private async current(strict: boolean): Promise<{ t: NftTable | undefined; missing: Set<string> }> {
    const t = await this.installed();
    const missing = new Set<string>();
    const have = new Set(t?.rules.map((r) => `${r.chain} ${r.comment}`));
    for (const w of this.wanted) {
      if (!t?.counters.has(w.rule.column) || !have.has(`${w.chain} ${w.comment}`)) missing.add(w.rule.column);
    }
    if (strict && missing.size > 0) {
      throw new AdvisedError(
        (netmon) =>
          t
            ? `${this.describe()} lacks the counter or rules of meter${missing.size === 1 ? "" : "s"} ${
              [...missing].join(", ")
            }: run '${netmon("start")}'`
            : `${this.describe()} is not installed: run '${netmon("start")}'`,
        EX.UNAVAILABLE,
      );
    }
    return { t, missing };
  }

  async read(): Promise<Reading> {
    const { t } = await this.current(true);
    const bytes = new Map<string, bigint>();
    const packets = new Map<string, bigint>();
    // Counter handles restart at 1 in a table made again, table handles do not: together they name one counter's life.
    const identities = new Map<string, string>();
    for (const c of this.columns) {
      const v = t?.counters.get(c) as { packets: bigint; bytes: bigint; handle?: bigint };
      bytes.set(c, v.bytes);
      packets.set(c, v.packets);
      if (t?.handle !== undefined && v.handle !== undefined) identities.set(c, `${t.handle}.${v.handle}`);
    }
    return { bytes, packets, identities, identityReason: "counter re-created", source: this.name };
  }

  async status(): Promise<MeterStatus[]> {
    const { t, missing } = await this.current(false);
    return this.columns.map((c) => {
      const hooks = [...new Set(this.wanted.filter((w) => w.rule.column === c).map((w) => w.chain))];
      const row: MeterStatus = {
        meter: c,
        where: `inet ${this.config.table} ${hooks.join("+")}`,
        installed: !missing.has(c),
      };
      const v = t?.counters.get(c);
      if (v) {
        row.packets = v.packets;
        row.bytes = v.bytes;
      }
      return row;
    });
  }
}

/** `delete WHAT with its N counter(s) and M rule(s)`: what a stop deletes. */
function contents(what: string, t: NftTable): string {
  return `delete ${what} with its ${t.counters.size} counter(s) and ${t.rules.length} rule(s)`;
}

/** The column a rule of netmon's feeds, from its comment (`netmon:COLUMN FINGERPRINT`). */
function columnOfComment(comment: string): string {
  const end = comment.lastIndexOf(" ");
  return comment.slice(PREFIX.length, end > PREFIX.length ? end : undefined);
}

/** True when the installed rules are exactly the wanted ones (as a multiset of chain and comment). */
function sameRules(installed: NftTable["rules"], wanted: Wanted[]): boolean {
  if (installed.length !== wanted.length) return false;
  const count = new Map<string, number>();
  for (const r of installed) count.set(`${r.chain} ${r.comment}`, (count.get(`${r.chain} ${r.comment}`) ?? 0) + 1);
  for (const w of wanted) {
    const k = `${w.chain} ${w.comment}`;
    const n = count.get(k) ?? 0;
    if (n === 0) return false;
    count.set(k, n - 1);
  }
  return true;
}
