/**
 * The iptables source: rules in the built-in chains, each jumping to
 * netmon's empty chain and tagged `netmon:COLUMN` in a comment; IPv6 rules
 * the same through ip6tables. Rules are found by that comment and their
 * match, never by position, changed in one `iptables-restore --noflush`
 * transaction per family, and read with one `iptables-save -c` per family.
 * A rule without the comment that is exactly a meter's rule (the 2010
 * network_monitor.py's, jumping to the same chain) is taken over by `start`
 * with its counters, so that switching from the script keeps its counts; any
 * other rule without it that jumps to netmon's chain is named, with the
 * `iptables -D` that removes it, by start, stop, status and doctor.
 *
 * @module
 */

import { listedAddress, parseAddressMatch } from "../config/address.ts";
import type { Runner } from "../host/run.ts";
import { type Advice, AdvisedError } from "../host/invocation.ts";
import type { Config, InterfaceMatch } from "../config/config.ts";
import { columnNames, type Family, type MeterRule, meterRules, ruleFamilies } from "../config/meters.ts";
import { EX, NetmonError } from "../host/errors.ts";
import { forEachCountedRule, parseIptablesSave, quoteArg, type SavedRule, splitArgs } from "./iptables_save.ts";
import {
  type CounterSource,
  firstThree,
  type ForeignRule,
  type MeterStatus,
  type Plan,
  type Reading,
  takeItOver,
} from "./source.ts";

/** Comment prefix that marks a rule as netmon's. */
export const COMMENT_PREFIX = "netmon:";

/** The comment on the rules feeding log column `column`. */
export function meterComment(column: string): string {
  return COMMENT_PREFIX + column;
}

/** `-s NET ` (or `! -s NET `) for a rule's one network a side; "" for none. */
function addrArg(flag: string, m: MeterRule["from"]): string {
  return m ? `${m.negated ? "! " : ""}${flag} ${m.cidrs[0]} ` : "";
}

/** `-i NAME ` (or `! -i NAME `); "" for none. */
function ifaceArg(flag: string, m: InterfaceMatch | undefined): string {
  return m ? `${m.negated ? "! " : ""}${flag} ${m.name} ` : "";
}

/**
 * A rule as iptables-save prints it after `-A HOOK`, so an installed rule
 * can be recognised by comparing text. Built as one string: the report
 * makes 10,000 of them, mostly before V8 has optimised this.
 */
export function ruleSpec(rule: MeterRule, chain: string): string {
  return addrArg("-s", rule.from) + addrArg("-d", rule.to) + ifaceArg("-i", rule.in) + ifaceArg("-o", rule.out) +
    `-m comment --comment ${quoteArg(meterComment(rule.column))} -j ${chain}`;
}

/**
 * The same rule without netmon's comment, as iptables-save prints it: the
 * rule the 2010 network_monitor.py (or a hand) made for the same traffic into
 * the same chain, which `start` takes over with its counters.
 */
export function bareSpec(rule: MeterRule, chain: string): string {
  return addrArg("-s", rule.from) + addrArg("-d", rule.to) + ifaceArg("-i", rule.in) + ifaceArg("-o", rule.out) +
    `-j ${chain}`;
}

/** What a rule matches, as iptables-save prints it (`-s 192.0.2.7/32`): which of a meter's rules it is. */
function matchOf(rule: MeterRule): string {
  return (addrArg("-s", rule.from) + addrArg("-d", rule.to) + ifaceArg("-i", rule.in) + ifaceArg("-o", rule.out))
    .trimEnd();
}

/**
 * Which rule not made by netmon that jumps to the chain (`jumps`: `CHAIN SPEC`
 * as iptables-save prints them, in its order) each of `rules` (meters' rules
 * not installed, in config order) takes over: the rule that is the meter's but
 * for netmon's comment ({@linkcode bareSpec}). Meters sharing a match (the
 * same networks and interfaces) take such rules in config order, each the
 * first one left. `start` takes over what this pairs, and status and doctor
 * name the same meter. By index: `rules`' to `jumps'`, in config order.
 */
function takeovers(rules: readonly MeterRule[], jumps: readonly string[], chain: string): Map<number, number> {
  const waiting = new Map<string, number[]>();
  for (let j = 0; j < jumps.length; j++) {
    const key = jumps[j] as string;
    const same = waiting.get(key);
    if (same) same.push(j);
    else waiting.set(key, [j]);
  }
  const taken = new Map<number, number>();
  if (waiting.size === 0) return taken;
  for (let k = 0; k < rules.length; k++) {
    const rule = rules[k] as MeterRule;
    const j = waiting.get(`${rule.hook} ${bareSpec(rule, chain)}`)?.shift();
    if (j !== undefined) taken.set(k, j);
  }
  return taken;
}

/**
 * A rule not made by netmon (no `netmon:` comment) outside the config's chain
 * that jumps to it: the 2010 network_monitor.py's counting rules, or one made
 * by hand. netmon's chain is its own; such a rule counts on beside netmon's and
 * keeps the chain from being deleted.
 */
function isForeignJump(rule: SavedRule, chain: string): boolean {
  return !isOurs(rule) && rule.target === chain && rule.chain !== chain;
}

/** The command that deletes rule `key` (`CHAIN SPEC`, as iptables-save prints it) of family `t`, as a user types it. */
function deleteCommand(t: Tools, key: string): string {
  return `${t.family === 6 ? "ip6tables" : "iptables"} -D ${key}`;
}

/** What start says of a rule not made by netmon that jumps to the config's chain and that it does not take over. */
function foreignNote(t: Tools, r: SavedRule): string {
  return `leave rule ${r.chain} ${r.spec}${t.family === 6 ? " (IPv6)" : ""} alone: not made by netmon ` +
    `(network_monitor.py's?), it jumps to netmon's chain ${r.target}, so it counts on and keeps the chain from ` +
    `being deleted; remove it with ${deleteCommand(t, `${r.chain} ${r.spec}`)}, ${takeItOver()}`;
}

function isOurs(rule: SavedRule): boolean {
  return rule.comment?.startsWith(COMMENT_PREFIX) ?? false;
}

/** The log column a rule of netmon's feeds. */
function columnOf(rule: SavedRule): string {
  return rule.comment?.slice(COMMENT_PREFIX.length) ?? "";
}

/** Builds an iptables-restore script for the filter table. */
function restoreScript(lines: string[]): string {
  return `*filter\n${lines.join("\n")}\nCOMMIT\n`;
}

/** The programs for one address family: iptables-save and -restore, or the ip6tables ones. */
interface Tools {
  family: Family;
  save: string;
  restore: string;
  /** "Any address" of the family, as messages show it. */
  any: string;
}

/**
 * What this config's last start recorded it installed (lib/state/installed.ts),
 * to tell its rules from another config's.
 */
interface Claim {
  /** The columns it installed. */
  former: ReadonlySet<string>;
  /** The chain their rules jump to, when recorded. */
  chain: string | undefined;
  /** The config's columns and `former`: a rule of another column is listed in {@linkcode Plan.unknown}. */
  known: ReadonlySet<string>;
}

/**
 * The iptables counter source: IPv4 rules through iptables, IPv6 through
 * ip6tables, a column's value the sum of its rules' counters.
 */
export class IptablesSource implements CounterSource {
  readonly name = "iptables";
  readonly warnings: (string | Advice)[] = [];
  readonly foreignRules: ForeignRule[] = [];
  private made?: MeterRule[];
  /** Both families' programs. */
  private readonly allTools: Tools[];
  /** The programs of the families the meters use. */
  private readonly tools: Tools[];
  constructor(private readonly config: Config, private readonly run: Runner) {
    const b = config.binaries;
    const families = new Set<Family>();
    config.meters.forEach((m) => ruleFamilies(m).forEach((f) => families.add(f))); // see computeUsage on forEach
    this.allTools = [
      { family: 4 as const, save: b.iptablesSave, restore: b.iptablesRestore, any: "0.0.0.0/0" },
      { family: 6 as const, save: b.ip6tablesSave, restore: b.ip6tablesRestore, any: "::/0" },
    ];
    this.tools = this.allTools.filter((t) => families.has(t.family));
  }

  /** Every meter's rules, made when first needed: a counter read starts its programs first, and makes them meanwhile. */
  private get rules(): MeterRule[] {
    return this.made ??= this.config.meters.flatMap((m) => meterRules(m, true));
  }

  /** The filter table of a family, with counters (a rule start takes over keeps them). */
  private async saved(t: Tools): Promise<{ rules: SavedRule[]; chains: string[] }> {
    const { stdout } = await this.run(t.save, ["-c", "-t", "filter"]);
    const table = parseIptablesSave(stdout, t.save).find((x) => x.name === "filter");
    return { rules: table?.rules ?? [], chains: table?.chains ?? [] };
  }

  /**
   * The ruleset of a family no meter uses, to clear netmon's rules left there
   * by an earlier config; undefined where it cannot be read (the program is
   * not allowed, not installed, or the family is not in the kernel), which
   * also means netmon cannot have put rules there.
   */
  private async savedIfReadable(t: Tools): Promise<{ rules: SavedRule[]; chains: string[] } | undefined> {
    // Asked first, not just caught below: run from a terminal without the permission, Deno would prompt for it.
    if (Deno.permissions.querySync({ name: "run", command: t.save }).state !== "granted") return undefined;
    try {
      return await this.saved(t);
    } catch (err) {
      if (err instanceof NetmonError) return undefined;
      throw err;
    }
  }

  /**
   * Whether an installed rule of netmon's is this config's to change: one that
   * jumps to its chain (of any column: one it does not know is listed in
   * {@linkcode Plan.unknown}), or one of a column its last start installed
   * that jumps to the chain that start recorded (the config's chain before it
   * was changed). A rule's comment names only its column, which another
   * config may have too: a rule that jumps to any other chain is another
   * config's, left alone (see {@linkcode leftAlone}).
   */
  private isMine(r: SavedRule, claim: Claim): boolean {
    return isOurs(r) && (r.target === this.config.chain || (r.target === claim.chain && claim.former.has(columnOf(r))));
  }

  /** The installed rules of netmon's that are this config's to change (see {@linkcode isMine}). */
  private mine(rules: SavedRule[], claim: Claim): SavedRule[] {
    return rules.filter((r) => this.isMine(r, claim));
  }

  /**
   * One note per other chain that netmon's rules jump to and this config
   * leaves alone (see {@linkcode isMine}): another config's, or, when no
   * record names the chain this config's rules jumped to before and the
   * rules are of its meters, perhaps its own from before a chain change,
   * which netmon cannot tell. A rule tagged as netmon's that jumps to no
   * chain (nowhere, or to a target such as ACCEPT) was made by hand: netmon's
   * rules always jump to a config's chain.
   */
  private leftAlone(t: Tools, saved: { rules: SavedRule[]; chains: string[] }, claim: Claim): string[] {
    /** Per chain, its rules' columns, each as often as it has rules there. */
    const byChain = new Map<string, string[]>();
    for (const r of saved.rules) {
      if (!isOurs(r) || this.isMine(r, claim)) continue;
      const columns = byChain.get(r.target);
      if (columns) columns.push(columnOf(r));
      else byChain.set(r.target, [columnOf(r)]);
    }
    const where = t.family === 6 ? " in ip6tables" : "";
    const formerChain = "another config's, or this config's from before a chain change (this state directory has no " +
      `record of it): then remove them with ${t.family === 6 ? "ip6tables" : "iptables"} -D`;
    return [...byChain].sort(([a], [b]) => (a < b ? -1 : 1)).map(([target, columns]) => {
      const rules = columns.length === 1
        ? "1 netmon rule alone that jumps"
        : `${columns.length} netmon rules alone that jump`;
      const names = [...new Set(columns)];
      const meters = names.length === 1 ? "meter" : "meters";
      const shown = firstThree(names);
      const chain = saved.chains.includes(target);
      const whose = !chain
        ? "made by hand, not by netmon (its rules jump to a config's chain)"
        : claim.chain === undefined && names.some((c) => claim.known.has(c))
        ? formerChain
        : "another config's";
      const to = chain ? `to chain ${target}` : target ? `to ${target}` : "nowhere";
      return `leave ${rules} ${to}${where} (${meters} ${shown}): ${whose}`;
    });
  }

  /** The `COLUMN (WHERE)` of each rule of a column not `known`, for {@linkcode Plan.unknown}. */
  private unknownOf(t: Tools, rules: SavedRule[], known: ReadonlySet<string>): string[] {
    const v6 = t.family === 6 ? " IPv6" : "";
    return rules.filter((r) => !known.has(columnOf(r))).map((r) => `${columnOf(r)} (${r.chain}${v6})`);
  }

  /**
   * The config's columns whose installed rules that jump to its chain are not
   * exactly the rules it writes, where the record does not list the column as
   * this config's, one `COLUMN (WHERE)` per such rule, for
   * {@linkcode Plan.differing}: another config's meter of the same name on
   * the same chain, as far as netmon can tell, whose rules start would replace
   * (and whose report would then fail), or this config's meter edited since a
   * start from before netmon kept the record. `read` are the families' rules.
   */
  private differing(read: { t: Tools; rules: SavedRule[] }[], claim: Claim): string[] {
    const { chain } = this.config;
    /** Per column, its installed rules as `FAMILY HOOK SPEC`, and where each is. */
    const installed = new Map<string, { keys: string[]; where: string[] }>();
    for (const { t, rules } of read) {
      for (const r of rules) {
        if (!isOurs(r) || r.target !== chain || claim.former.has(columnOf(r))) continue;
        let of = installed.get(columnOf(r));
        if (!of) installed.set(columnOf(r), of = { keys: [], where: [] });
        of.keys.push(`${t.family} ${r.chain} ${r.spec}`);
        of.where.push(`${columnOf(r)} (${r.chain}${t.family === 6 ? " IPv6" : ""})`);
      }
    }
    if (installed.size === 0) return []; // as always once the record lists every column
    /** Per column of the config, the rules it writes, in the same form. */
    const wanted = new Map<string, string[]>();
    for (const r of this.rules) {
      if (!installed.has(r.column)) continue;
      const key = `${r.family} ${r.hook} ${ruleSpec(r, chain)}`;
      const of = wanted.get(r.column);
      if (of) of.push(key);
      else wanted.set(r.column, [key]);
    }
    const out: string[] = [];
    for (const [column, { keys, where }] of installed) {
      const want = wanted.get(column);
      // A column the config does not have is unknown (see unknownOf), not differing.
      if (want && keys.sort().join("\n") !== want.sort().join("\n")) out.push(...where);
    }
    return out;
  }

  /** What the record says this config's last start installed: `former` columns, their rules jumping to `chain`. */
  private claim(former: ReadonlySet<string>, chain: string | undefined): Claim {
    return { former, chain, known: new Set([...columnNames(this.config.meters), ...former]) };
  }

  /**
   * Refuses the config's chain when it holds rules: netmon's chain is always
   * empty (its rules jump there to count, and return), so a rule there is not
   * netmon's, and the traffic netmon's rules meter would meet it (a DROP would
   * drop it).
   */
  private refuseFilledChain(t: Tools, rules: SavedRule[]): void {
    const { chain } = this.config;
    const inside = rules.filter((r) => r.chain === chain);
    if (inside.length === 0) return;
    const first = inside[0] as SavedRule;
    const n = inside.length === 1 ? "1 rule" : `${inside.length} rules`;
    throw new NetmonError(
      `chain ${chain}${t.family === 6 ? " in ip6tables" : ""} holds ${n} netmon did not make ` +
        `(${inside.length > 1 ? "first " : ""}-A ${first.chain} ${first.spec}): netmon's rules jump to the config's ` +
        `chain to count, so the traffic they meter would meet ${inside.length === 1 ? "it" : "them"}; set ` +
        `chain = "..." in the config to a chain that is empty or does not exist (netmon's own)`,
      EX.CONFIG,
    );
  }

  /**
   * Deletes chain `name` (this config's, or the one its last start recorded)
   * once the `removed` rules are gone, or says why it stays: other rules jump
   * to it, or it holds rules. Nothing when there is no such chain.
   */
  private dropChain(
    t: Tools,
    saved: { rules: SavedRule[]; chains: string[] },
    name: string,
    removed: ReadonlySet<SavedRule>,
    out: { lines: string[]; notes: (string | Advice)[] },
  ): void {
    if (!saved.chains.includes(name)) return;
    const v6 = t.family === 6 ? " (IPv6)" : "";
    const why = name === this.config.chain ? "" : " (no longer this config's)";
    const other = saved.rules.filter((r) => r.target === name && !removed.has(r));
    const inside = saved.rules.filter((r) => r.chain === name);
    if (other.length > 0) {
      const whose = other.some(isOurs) ? "" : " not made by netmon";
      const shown = other.slice(0, 3).map((r) => `${r.chain} ${r.spec}`).join("; ") +
        (other.length > 3 ? `; and ${other.length - 3} more` : "");
      let note = `keep chain ${name}${v6}: ${other.length} rule(s)${whose} jump to it (${shown})`;
      // Another config's rules are that config's to stop; those not made by netmon (network_monitor.py's) go by hand.
      const foreign = other.filter((r) => !isOurs(r));
      if (foreign.length > 0) {
        const them = foreign.length < other.length ? "those not made by netmon" : other.length === 1 ? "it" : "them";
        note += `: remove ${them} with ${foreign.map((r) => deleteCommand(t, `${r.chain} ${r.spec}`)).join(" && ")}`;
      }
      out.notes.push(note);
    } else if (inside.length > 0) {
      out.notes.push(`keep chain ${name}${v6}: it holds ${inside.length} rule(s) not made by netmon`);
    } else {
      out.lines.push(`-X ${name}`);
      out.notes.push(`delete chain ${name}${v6}${why}`);
    }
  }

  /**
   * Removing this config's rules (see {@linkcode isMine}) from a family, and
   * its chain (and the one its last start recorded) when nothing else uses
   * it; `what` names the rules.
   */
  private removal(
    t: Tools,
    saved: { rules: SavedRule[]; chains: string[] },
    what: string,
    claim: Claim,
  ): Plan {
    const { chain } = this.config;
    const v6 = t.family === 6 ? " (IPv6)" : "";
    const ours = this.mine(saved.rules, claim);
    const out = {
      lines: ours.map((r) => `-D ${r.chain} ${r.spec}`),
      notes: ours.map((r) => `remove ${what} of ${columnOf(r)} from ${r.chain}${v6}`),
    };
    const removed = new Set(ours);
    this.dropChain(t, saved, chain, removed, out);
    if (claim.chain !== undefined && claim.chain !== chain) this.dropChain(t, saved, claim.chain, removed, out);
    return {
      notes: out.notes,
      commands: out.lines.length > 0 ? [this.restore(t, out.lines)] : [],
      unknown: this.unknownOf(t, ours, claim.known),
    };
  }

  /** One iptables-restore transaction; `counters` when lines set counters (`[p:b] -I …`). */
  private restore(t: Tools, lines: string[], counters = false): Plan["commands"][number] {
    const args = ["--noflush", ...(counters ? ["--counters"] : []), `--wait=${this.config.wait}`];
    return { path: t.restore, args, stdin: restoreScript(lines) };
  }

  /**
   * Diff of the installed rules against the config, kept rules untouched so
   * their counters survive; but a column is the sum of its rules' counters,
   * so when a column gains or loses any rule, all its rules are made afresh
   * together (in the same transaction as the change, in each family) and
   * recorded as re-created. Otherwise the column would drop by the lost
   * rule's count, and the report, seeing a counter that went down, would bill
   * the kept rules' whole counts a second time. The unsampled traffic since
   * the last report is lost instead, as with any re-creation.
   */
  async planStart(former: ReadonlySet<string> = new Set(), formerChain?: string, formerTable?: string): Promise<Plan> {
    const plan: Plan = { notes: [], commands: [], unknown: [] };
    const { chain } = this.config;
    const claim = this.claim(former, formerChain);
    /** Notes on other chains' rules, left alone: said last, whatever the plan. */
    const left: (string | Advice)[] = formerNftables(formerTable, former);
    type Wanted = { key: string; rule: MeterRule };
    type Installed = { key: string; rule: SavedRule };
    /** Each family's diff, or the removal in a family no meter uses; commands are made once every diff is known. */
    const steps: (
      | {
        t: Tools;
        saved: { rules: SavedRule[]; chains: string[] };
        wanted: Wanted[];
        toAdd: Set<Wanted>;
        unmatched: Installed[];
        /** Wanted rules that take over a rule not made by netmon: the same match into the same chain. */
        adopted: Map<Wanted, SavedRule>;
      }
      | Plan
    )[] = [];
    /** Columns of the config that gain or lose a rule in any family: all their rules are made afresh. */
    const changed = new Set<string>();
    /** Columns of rules removed: only those of the config count as changed. */
    const losing = new Set<string>();
    /** Each family's rules, as read. */
    const read: { t: Tools; rules: SavedRule[] }[] = [];
    for (const t of this.allTools) {
      if (!this.tools.includes(t)) {
        // No meter uses this family now: what an earlier config put there goes.
        const saved = await this.savedIfReadable(t);
        const gone = saved && this.removal(t, saved, "stale rule", claim);
        if (saved) left.push(...this.leftAlone(t, saved, claim));
        if (saved) read.push({ t, rules: saved.rules });
        if (saved && gone?.commands.length) {
          steps.push(gone);
          for (const r of this.mine(saved.rules, claim)) losing.add(columnOf(r));
        }
        continue;
      }
      const saved = await this.saved(t);
      this.refuseFilledChain(t, saved.rules);
      read.push({ t, rules: saved.rules });
      left.push(...this.leftAlone(t, saved, claim));
      const installed: Installed[] = this.mine(saved.rules, claim).map((r) => ({
        key: `${r.chain} ${r.spec}`,
        rule: r,
      }));
      const wanted: Wanted[] = this.rules.filter((r) => r.family === t.family).map((r) => ({
        key: `${r.hook} ${ruleSpec(r, chain)}`,
        rule: r,
      }));
      // A multiset of installed rules by their text: each wanted rule keeps one.
      const pool = new Map<string, Installed[]>();
      for (const r of installed) {
        const same = pool.get(r.key);
        if (same) same.push(r);
        else pool.set(r.key, [r]);
      }
      const toAdd = new Set(wanted.filter((w) => !pool.get(w.key)?.pop()));
      const unmatched = [...pool.values()].flat();
      // A rule to add that another made already, without netmon's comment (network_monitor.py's own): taken over
      // with its counters, so that the column goes on from the count the original's files last logged.
      const adopted = new Map<Wanted, SavedRule>();
      const foreign = saved.rules.filter((r) => isForeignJump(r, chain));
      const adding = [...toAdd];
      const taken = takeovers(adding.map((w) => w.rule), foreign.map((r) => `${r.chain} ${r.spec}`), chain);
      for (const [k, j] of taken) {
        const w = adding[k] as Wanted;
        adopted.set(w, foreign[j] as SavedRule);
        toAdd.delete(w);
      }
      const adoptedAt = new Set(taken.values());
      left.push(...foreign.filter((_, j) => !adoptedAt.has(j)).map((r) => foreignNote(t, r)));
      for (const w of toAdd) changed.add(w.rule.column);
      for (const r of unmatched) losing.add(columnOf(r.rule));
      plan.unknown?.push(...this.unknownOf(t, unmatched.map((r) => r.rule), claim.known));
      steps.push({ t, saved, wanted, toAdd, unmatched, adopted });
    }
    if (losing.size > 0) {
      const configured = new Set(this.rules.map((r) => r.column));
      for (const c of losing) if (configured.has(c)) changed.add(c);
    }
    plan.differing = this.differing(read, claim);
    let kept = 0;
    /** Per column, how many of its installed rules are made afresh with it. */
    const remade = new Map<string, number>();
    for (const step of steps) {
      if (!("t" in step)) {
        plan.notes.push(...step.notes);
        plan.commands.push(...step.commands);
        plan.unknown?.push(...step.unknown ?? []);
        continue;
      }
      const { t, saved, wanted, toAdd, unmatched, adopted } = step;
      const v6 = t.family === 6 ? " (IPv6)" : "";
      const lines: string[] = [];
      if (!saved.chains.includes(chain)) {
        lines.push(`:${chain} - [0:0]`);
        plan.notes.push(`create chain ${chain}${v6}`);
      }
      for (const r of unmatched) {
        lines.push(`-D ${r.key}`);
        plan.notes.push(`remove stale rule of ${columnOf(r.rule)} from ${r.rule.chain}${v6}`);
      }
      // Installed rules of a changed column go too, and come back with its new ones, in config order.
      const fresh = changed.size === 0
        ? []
        : wanted.filter((w) => !adopted.has(w) && (toAdd.has(w) || changed.has(w.rule.column)));
      for (const w of fresh) {
        if (toAdd.has(w)) continue;
        lines.push(`-D ${w.key}`);
        remade.set(w.rule.column, (remade.get(w.rule.column) ?? 0) + 1);
      }
      for (const w of [...fresh].reverse()) lines.push(`-I ${w.rule.hook} 1 ${ruleSpec(w.rule, chain)}`);
      for (const w of toAdd) plan.notes.push(`add rule for meter ${w.rule.column} to ${w.rule.hook}${v6}`);
      // Taken over in the same transaction: the rule goes and netmon's comes with its counters (from zero where
      // its column is made afresh anyway). Only what it counts between the read above and this commit is lost.
      let counters = false;
      for (const [w, r] of adopted) {
        const carried = !changed.has(w.rule.column) && r.counters;
        lines.push(`-D ${r.chain} ${r.spec}`);
        lines.push(
          `${carried ? `[${carried.packets}:${carried.bytes}] ` : ""}-I ${w.rule.hook} 1 ${ruleSpec(w.rule, chain)}`,
        );
        counters ||= Boolean(carried);
        plan.notes.push(
          `take over rule ${r.chain} ${r.spec}${v6} (not made by netmon: network_monitor.py's?) for meter ` +
            `${w.rule.column}, ` +
            (carried ? `with its counters (${carried.bytes} bytes)` : "from zero, as the meter's other rules"),
        );
      }
      // The chain the rules jumped to before the config's chain changed goes with them.
      if (formerChain !== undefined && formerChain !== chain) {
        this.dropChain(t, saved, formerChain, new Set(unmatched.map((r) => r.rule)), { lines, notes: plan.notes });
      }
      kept += wanted.length - fresh.length - adopted.size;
      if (lines.length > 0) plan.commands.push(this.restore(t, lines, counters));
    }
    if (plan.commands.length === 0) {
      return {
        notes: [`all ${this.config.meters.length} meters' rules are installed: nothing to change`, ...left],
        commands: [],
      };
    }
    for (const [column, n] of remade) {
      plan.notes.push(
        `re-create meter ${column}'s ${n} installed rule${n === 1 ? "" : "s"} too: its rules count together, from zero`,
      );
    }
    if (kept > 0) plan.notes.push(`keep ${kept} installed rule${kept === 1 ? "" : "s"} and their counters`);
    plan.notes.push(...left);
    if (changed.size > 0) plan.recreates = [...changed];
    return plan;
  }

  async planStop(former: ReadonlySet<string> = new Set(), formerChain?: string, formerTable?: string): Promise<Plan> {
    const plan: Plan = { notes: [], commands: [], unknown: [] };
    const claim = this.claim(former, formerChain);
    const left: (string | Advice)[] = formerNftables(formerTable, former);
    const read: { t: Tools; rules: SavedRule[] }[] = [];
    for (const t of this.allTools) {
      // A family no meter uses is cleared too (an earlier config may have used it), where it can be read.
      const used = this.tools.includes(t);
      const saved = used ? await this.saved(t) : await this.savedIfReadable(t);
      if (!saved) continue;
      read.push({ t, rules: saved.rules });
      left.push(...this.leftAlone(t, saved, claim));
      const gone = this.removal(t, saved, "rule", claim);
      if (!used && gone.commands.length === 0) continue;
      plan.notes.push(...gone.notes);
      plan.commands.push(...gone.commands);
      plan.unknown?.push(...gone.unknown ?? []);
    }
    plan.differing = this.differing(read, claim);
    if (plan.commands.length === 0) {
      const none = left.length === 0
        ? "no netmon rules are installed"
        : `no rules of this config are installed (chain ${this.config.chain})`;
      return { notes: [`${none}: nothing to change`, ...left], commands: [] };
    }
    plan.notes.push(...left);
    return plan;
  }

  /**
   * Finds every wanted rule among the installed ones, with its counters, from
   * one `iptables-save -c` per family. A rule is found by its exact text as
   * iptables-save prints it, the text `start` compares too, so report, status
   * and start agree on what is installed; a netmon rule whose text differs is
   * compared by its match (the same rule written differently counts), and
   * otherwise says how it differs. Each installed rule serves one wanted
   * rule; leftovers with our comments are duplicates, reported.
   */
  private async find(
    asWritten?: Set<string>,
    outside?: Advice[],
    foreign?: ForeignRule[],
  ): Promise<Map<MeterRule, Counters | string>> {
    const found = new Map<MeterRule, Counters | string>();
    // Columns with a rule not in the text start writes, or an extra rule: not as written, whatever their other rules.
    const inexact = new Set<string>();
    const { chain } = this.config;
    // Every family's read starts now; the rules' texts are worked out while the programs run.
    const saves = this.tools.map((t) => this.run(t.save, ["-c", "-t", "filter"]));
    for (const s of saves) s.catch(() => {}); // each is awaited below, unless an earlier one fails
    for (const [i, t] of this.tools.entries()) {
      const where = `${t.save} -c`;
      const wanted = new Map<string, MeterRule>();
      let rulesOfFamily = 0;
      // forEach, not for-of: see computeUsage in lib/usage/deltas.ts.
      this.rules.forEach((rule) => {
        if (rule.family !== t.family) return;
        wanted.set(`${rule.hook} ${ruleSpec(rule, chain)}`, rule);
        rulesOfFamily++;
      });
      // netmon rules whose text is not a wanted rule's (or repeats one), by `HOOK COLUMN`.
      const strays = new Map<string, { match: SavedMatch; counters: Counters }[]>();
      const { stdout } = await (saves[i] as Promise<{ stdout: string }>);
      let foundByText = 0;
      /** `CHAIN SPEC` of rules not made by netmon that jump to its chain, when asked for. */
      const jumps: string[] = [];
      forEachCountedRule(stdout, where, (r) => {
        const rule = wanted.get(r.key);
        if (foreign && !rule && r.key.endsWith(` -j ${chain}`) && !r.key.includes(COMMENT_PREFIX)) {
          if (!r.key.startsWith(`${chain} `)) jumps.push(r.key);
        } else if (rule && !found.has(rule)) {
          found.set(rule, r); // the line's counters, as they are
          foundByText++;
          asWritten?.add(rule.column);
        } else if (rule || r.key.includes(COMMENT_PREFIX)) {
          const space = r.key.indexOf(" ");
          const match = savedMatch(splitArgs(r.key.slice(space + 1), `${where} line ${r.line}`));
          if (!match.comment?.startsWith(COMMENT_PREFIX)) return;
          if (match.target?.slice(3) !== chain) return; // jumps elsewhere: not this config's (see isMine)
          const key = `${r.key.slice(0, space)} ${match.comment.slice(COMMENT_PREFIX.length)}`;
          let list = strays.get(key);
          if (!list) strays.set(key, list = []);
          list.push({ match, counters: { packets: r.packets, bytes: r.bytes } });
        }
      });
      // A wanted rule not found by its text may be a stray written differently. (Usually every rule was found
      // and there are no strays: then nothing more is done, not even a pass over the rules.)
      if (foundByText < rulesOfFamily) {
        for (const rule of this.rules) {
          if (rule.family !== t.family || found.has(rule)) continue;
          inexact.add(rule.column);
          const mine = strays.get(`${rule.hook} ${rule.column}`) ?? [];
          const at = mine.findIndex((s) => describeMismatch(rule, s.match, chain, t.any) === "");
          if (at >= 0) found.set(rule, (mine.splice(at, 1)[0] as { counters: Counters }).counters);
          else found.set(rule, mine[0] ? describeMismatch(rule, mine[0].match, chain, t.any) : "");
        }
      }
      if (jumps.length > 0) foreign?.push(...this.describeForeign(t, jumps, found));
      const leftovers = [...strays].filter(([, left]) => left.length > 0);
      if (leftovers.length > 0) {
        this.warnDuplicates(t, leftovers, found);
        outside?.push(...this.outsideConfig(t, leftovers));
      }
      for (const [key] of leftovers) inexact.add(key.slice(key.indexOf(" ") + 1));
    }
    for (const column of inexact) asWritten?.delete(column);
    return found;
  }

  /**
   * The leftover rules of configured columns that match none of the column's
   * configured rules (a network or hook taken out of the config, `start` not
   * run since), one line each. Such a rule's counts are in the column's last
   * value: left out of the sum, the column would go down, and the report would
   * bill its other rules' counts a second time. A copy of a configured rule
   * is only warned of (its original is counted), and a meter taken out of the
   * config has no column to read.
   */
  private outsideConfig(t: Tools, leftovers: [string, { match: SavedMatch }[]][]): Advice[] {
    const { chain } = this.config;
    const out: Advice[] = [];
    for (const [key, left] of leftovers) {
      const hook = key.slice(0, key.indexOf(" "));
      const column = key.slice(key.indexOf(" ") + 1);
      const own = this.rules.filter((r) => r.column === column);
      if (own.length === 0) continue;
      const copy = (m: SavedMatch) =>
        own.some((r) => r.family === t.family && r.hook === hook && describeMismatch(r, m, chain, t.any) === "");
      if (left.every((s) => copy(s.match))) continue;
      const v6 = t.family === 6 ? " (IPv6)" : "";
      out.push((netmon) =>
        `meter ${column}: an installed rule in ${hook}${v6} is no longer in the config: run '${netmon("start")}' ` +
        "to update the rules (until then nothing is logged: counted without it, the meter would be billed twice)"
      );
    }
    return out;
  }

  /** Warns of strays left over under the comment of a rule that was found: duplicates, by `HOOK COLUMN`. */
  private warnDuplicates(t: Tools, leftovers: [string, unknown[]][], found: Map<MeterRule, Counters | string>): void {
    const served = new Set<string>();
    for (const rule of this.rules) {
      if (rule.family === t.family && typeof found.get(rule) === "object") served.add(`${rule.hook} ${rule.column}`);
    }
    for (const [key, left] of leftovers) {
      if (!served.has(key)) continue;
      const [hook, column] = key.split(" ");
      const v6 = t.family === 6 ? " (IPv6)" : "";
      this.warnings.push((netmon) =>
        `${column} has ${left.length} extra rule(s) in ${hook}${v6}, not counted: run '${netmon("start")}' to repair`
      );
    }
  }

  async read(): Promise<Reading> {
    const asWritten = new Set<string>();
    const outside: Advice[] = [];
    const finding = this.find(asWritten, outside);
    // Every column in config order, each the sum of its rules' counters: the columns are set out while the
    // programs run, then one pass over the rules found.
    const bytes = new Map<string, bigint>();
    const packets = new Map<string, bigint>();
    columnNames(this.config.meters).forEach((name) => {
      bytes.set(name, 0n);
      packets.set(name, 0n);
    });
    const found = await finding;
    const missing = new Set<string>();
    // forEach, not for-of: see computeUsage in lib/usage/deltas.ts.
    found.forEach((r, rule) => {
      if (r === "") missing.add(rule.column);
      else if (typeof r === "string") {
        throw new AdvisedError(
          (netmon) =>
            `meter ${rule.column}: the installed rule in ${rule.hook} ${r}: run '${
              netmon("start")
            }' to update the rules`,
          EX.UNAVAILABLE,
        );
      } else {
        bytes.set(rule.column, (bytes.get(rule.column) ?? 0n) + r.bytes);
        packets.set(rule.column, (packets.get(rule.column) ?? 0n) + r.packets);
      }
    });
    if (missing.size > 0) {
      throw new AdvisedError(
        (netmon) =>
          `netmon's rules are not installed for meter${missing.size === 1 ? "" : "s"} ${
            [...missing].join(", ")
          }: run '${netmon("start")}'`,
        EX.UNAVAILABLE,
      );
    }
    // Said after a rule written otherwise or missing, which explains a leftover rule better.
    if (outside.length > 0) {
      throw new AdvisedError((netmon) => outside.map((o) => o(netmon)).join("\n"), EX.UNAVAILABLE);
    }
    return { bytes, packets, asWritten, source: this.name };
  }

  /**
   * Says what each rule not made by netmon that jumps to its chain
   * (`CHAIN SPEC`, read from family `t`) is and how to be rid of it: `start`
   * takes over one that is exactly the rule of a meter not installed (`found`
   * says which are), with its counters; any other is removed by hand.
   */
  private describeForeign(t: Tools, jumps: string[], found: Map<MeterRule, Counters | string>): ForeignRule[] {
    const { chain } = this.config;
    const takeable = this.rules.filter((rule) => rule.family === t.family && typeof found.get(rule) !== "object");
    const meterAt = new Map<number, MeterRule>();
    for (const [k, j] of takeovers(takeable, jumps, chain)) meterAt.set(j, takeable[k] as MeterRule);
    const v6 = t.family === 6 ? " (IPv6)" : "";
    return jumps.map((key, j) => {
      const what = `rule ${key}${v6} was not made by netmon (network_monitor.py's?) but jumps to its chain ${chain}`;
      const meter = meterAt.get(j);
      if (meter) return { what, takeover: meter.column };
      return { what, fix: deleteCommand(t, key) };
    });
  }

  async status(): Promise<MeterStatus[]> {
    this.foreignRules.length = 0;
    const found = await this.find(undefined, undefined, this.foreignRules);
    const place = (rule: MeterRule) => `${rule.hook}${rule.family === 6 ? " IPv6" : ""}`;
    // A meter with several rules in one place (charlie's -s and -d rules in FORWARD): each row says its match.
    const rules = new Map<string, number>();
    for (const rule of found.keys()) {
      const key = `${rule.column} ${place(rule)}`;
      rules.set(key, (rules.get(key) ?? 0) + 1);
    }
    return [...found].map(([rule, r]) => {
      const where = place(rule) + ((rules.get(`${rule.column} ${place(rule)}`) ?? 0) > 1 ? ` ${matchOf(rule)}` : "");
      const row: MeterStatus = { meter: rule.column, where, installed: typeof r !== "string" };
      if (typeof r !== "string") {
        row.packets = r.packets;
        row.bytes = r.bytes;
      }
      return row;
    });
  }
}

/**
 * What a start or stop leaves of the nftables table this config's last start
 * installed, when that start was under `source = "nftables"` (the record
 * names a table): said, not removed.
 */
function formerNftables(table: string | undefined, former: ReadonlySet<string>): Advice[] {
  if (table === undefined) return [];
  const names = [...former];
  const shown = firstThree(names);
  return [
    (netmon) =>
      `leave table inet ${table}, which this config's last start installed (meter${names.length === 1 ? "" : "s"} ` +
      `${shown}): it counts on; delete it with '${netmon("stop")}' with source = "nftables" in the config, or ` +
      `nft delete table inet ${table}`,
  ];
}

/** A rule's exact counters. */
interface Counters {
  packets: bigint;
  bytes: bigint;
}

/** What a saved netmon rule matches, from its arguments. */
interface SavedMatch {
  source?: string;
  destination?: string;
  in?: string;
  out?: string;
  comment?: string;
  target?: string;
  /** Any other arguments (`-p udp`, `-m tcp --dport 22`, …): netmon's rules have none. */
  other: string[];
}

const MATCH_FLAGS: Record<string, "source" | "destination" | "in" | "out"> = {
  "-s": "source",
  "--source": "source",
  "-d": "destination",
  "--destination": "destination",
  "-i": "in",
  "--in-interface": "in",
  "-o": "out",
  "--out-interface": "out",
};

/** The source, destination, interfaces (`!`-prefixed when negated), comment and target of saved rule arguments. */
function savedMatch(args: string[]): SavedMatch {
  const m: SavedMatch = { other: [] };
  for (let k = 0; k < args.length; k++) {
    const negated = args[k] === "!";
    const flag = args[negated ? k + 1 : k] as string;
    const value = args[negated ? k + 2 : k + 1];
    const field = MATCH_FLAGS[flag];
    if (field && value !== undefined) {
      m[field] = (negated ? "!" : "") + value;
      k += negated ? 2 : 1;
    } else if (flag === "--comment" && value !== undefined && !negated) {
      m.comment = value;
      k++;
    } else if ((flag === "-j" || flag === "-g") && value !== undefined && !negated) {
      m.target = `${flag} ${value}`;
      k++;
    } else if (!(flag === "-m" && value === "comment" && !negated)) m.other.push(args[k] as string);
    else k++;
  }
  return m;
}

/** A network as the config has it, shown the way `iptables -L -n` would: `/32` dropped, `!` glued on. */
function shownNetwork(m: MeterRule["from"], any: string): string {
  if (!m) return any;
  return listedAddress({ negated: m.negated, family: any === "::/0" ? 6 : 4, cidr: m.cidrs[0] as string });
}

/** A saved network, shown the same way; unparsable text as it is. */
function shownSaved(text: string | undefined, any: string): string {
  if (text === undefined) return any;
  const m = parseAddressMatch(text);
  return typeof m === "string" ? text : listedAddress(m);
}

/**
 * Says how an installed rule differs from the wanted one, or "" when it
 * matches the same traffic into the same chain. Only rules whose text is
 * not the one `start` writes get here.
 */
function describeMismatch(rule: MeterRule, got: SavedMatch, chain: string, any: string): string {
  const iface = (i: InterfaceMatch | undefined) => (i ? (i.negated ? "!" : "") + i.name : "*");
  const differs = (what: string, want: string, have: string) =>
    want === have ? "" : `matches ${what} ${have} but the config says ${want}`;
  return differs("source", shownNetwork(rule.from, any), shownSaved(got.source, any)) ||
    differs("destination", shownNetwork(rule.to, any), shownSaved(got.destination, any)) ||
    differs("input interface", iface(rule.in), got.in ?? "*") ||
    differs("output interface", iface(rule.out), got.out ?? "*") ||
    (got.target === `-j ${chain}` ? "" : `has target ${got.target ?? "none"} but the config's chain is ${chain}`) ||
    (got.other.length === 0 ? "" : `also matches ${got.other.join(" ")}, which netmon's rules never do`);
}
