/**
 * The iptables source: rules in the built-in chains, each jumping to
 * netmon's empty chain and tagged `netmon:COLUMN` in a comment; IPv6 rules
 * the same through ip6tables. Rules are found by that comment and their
 * match, never by position, changed in one `iptables-restore --noflush`
 * transaction per family, and read with one `iptables -L` per family.
 *
 * @module
 */

import { listedAddress, parseAddressMatch } from "../address.ts";
import type { Runner } from "../command.ts";
import type { Config, InterfaceMatch } from "../config.ts";
import { allColumns, type Family, HOOKS, type MeterRule, meterRules } from "../meters.ts";
import { EX, NetmonError } from "../errors.ts";
import { type ListedChain, type ListedRule, parseIptablesList } from "./iptables_list.ts";
import { parseIptablesSave, quoteArg, type SavedRule } from "./iptables_save.ts";
import type { CounterSource, MeterStatus, Plan, Reading } from "./source.ts";

/** Comment prefix that marks a rule as netmon's. */
export const COMMENT_PREFIX = "netmon:";

/** The comment on the rules feeding log column `column`. */
export function meterComment(column: string): string {
  return COMMENT_PREFIX + column;
}

function ifaceArg(flag: string, m: InterfaceMatch | undefined): string[] {
  return m ? [`${m.negated ? "! " : ""}${flag} ${m.name}`] : [];
}

function addrArg(flag: string, m: MeterRule["from"]): string[] {
  return m ? [`${m.negated ? "! " : ""}${flag} ${m.cidrs[0]}`] : [];
}

/**
 * A rule as iptables-save prints it after `-A HOOK`, so an installed rule
 * can be recognised by comparing text.
 */
export function ruleSpec(rule: MeterRule, chain: string): string {
  return [
    ...addrArg("-s", rule.from),
    ...addrArg("-d", rule.to),
    ...ifaceArg("-i", rule.in),
    ...ifaceArg("-o", rule.out),
    `-m comment --comment ${quoteArg(meterComment(rule.column))}`,
    `-j ${chain}`,
  ].join(" ");
}

function isOurs(rule: SavedRule): boolean {
  return rule.comment?.startsWith(COMMENT_PREFIX) ?? false;
}

/** Builds an iptables-restore script for the filter table. */
function restoreScript(lines: string[]): string {
  return `*filter\n${lines.join("\n")}\nCOMMIT\n`;
}

/** The programs for one address family: iptables or ip6tables. */
interface Tools {
  family: Family;
  list: string;
  save: string;
  restore: string;
  /** How -L -n prints "any address". */
  any: string;
}

/**
 * The iptables counter source: IPv4 rules through iptables, IPv6 through
 * ip6tables, a column's value the sum of its rules' counters.
 */
export class IptablesSource implements CounterSource {
  readonly name = "iptables";
  readonly warnings: string[] = [];
  private readonly rules: MeterRule[];
  private readonly tools: Tools[];
  constructor(private readonly config: Config, private readonly run: Runner) {
    this.rules = config.meters.flatMap((m) => meterRules(m, true));
    const b = config.binaries;
    const families = new Set(this.rules.map((r) => r.family));
    this.tools = [
      { family: 4 as const, list: b.iptables, save: b.iptablesSave, restore: b.iptablesRestore, any: "0.0.0.0/0" },
      { family: 6 as const, list: b.ip6tables, save: b.ip6tablesSave, restore: b.ip6tablesRestore, any: "::/0" },
    ].filter((t) => families.has(t.family));
  }

  private async saved(t: Tools): Promise<{ rules: SavedRule[]; chains: string[] }> {
    const { stdout } = await this.run(t.save, ["-t", "filter"]);
    const table = parseIptablesSave(stdout, t.save).find((x) => x.name === "filter");
    return { rules: table?.rules ?? [], chains: table?.chains ?? [] };
  }

  private restore(t: Tools, lines: string[]): Plan["commands"][number] {
    return { path: t.restore, args: ["--noflush", `--wait=${this.config.wait}`], stdin: restoreScript(lines) };
  }

  /** Diff of the installed rules against the config, kept rules untouched so their counters survive. */
  async planStart(): Promise<Plan> {
    const plan: Plan = { notes: [], commands: [] };
    let kept = 0;
    for (const t of this.tools) {
      const { chain } = this.config;
      const v6 = t.family === 6 ? " (IPv6)" : "";
      const { rules, chains } = await this.saved(t);
      const installed = rules.filter(isOurs).map((r) => ({ key: `${r.chain} ${r.spec}`, rule: r }));
      const wanted = this.rules.filter((r) => r.family === t.family).map((r) => ({
        key: `${r.hook} ${ruleSpec(r, chain)}`,
        rule: r,
      }));
      // A multiset of installed rules by their text: each wanted rule keeps one.
      const pool = new Map<string, typeof installed>();
      for (const r of installed) {
        const same = pool.get(r.key);
        if (same) same.push(r);
        else pool.set(r.key, [r]);
      }
      const toAdd = wanted.filter((w) => !pool.get(w.key)?.pop());
      const unmatched = [...pool.values()].flat();
      const lines: string[] = [];
      if (!chains.includes(chain)) {
        lines.push(`:${chain} - [0:0]`);
        plan.notes.push(`create chain ${chain}${v6}`);
      }
      for (const r of unmatched) {
        lines.push(`-D ${r.key}`);
        plan.notes.push(
          `remove stale rule of ${r.rule.comment?.slice(COMMENT_PREFIX.length)} from ${r.rule.chain}${v6}`,
        );
      }
      for (const w of [...toAdd].reverse()) lines.push(`-I ${w.rule.hook} 1 ${ruleSpec(w.rule, chain)}`);
      for (const w of toAdd) plan.notes.push(`add rule for meter ${w.rule.column} to ${w.rule.hook}${v6}`);
      kept += wanted.length - toAdd.length;
      if (lines.length > 0) plan.commands.push(this.restore(t, lines));
    }
    if (plan.commands.length === 0) {
      return {
        notes: [`all ${this.config.meters.length} meters' rules are installed: nothing to change`],
        commands: [],
      };
    }
    if (kept > 0) plan.notes.push(`keep ${kept} installed rule${kept === 1 ? "" : "s"} and their counters`);
    return plan;
  }

  async planStop(): Promise<Plan> {
    const plan: Plan = { notes: [], commands: [] };
    for (const t of this.tools) {
      const { chain } = this.config;
      const v6 = t.family === 6 ? " (IPv6)" : "";
      const { rules, chains } = await this.saved(t);
      const ours = rules.filter(isOurs);
      const lines = ours.map((r) => `-D ${r.chain} ${r.spec}`);
      plan.notes.push(
        ...ours.map((r) => `remove rule of ${r.comment?.slice(COMMENT_PREFIX.length)} from ${r.chain}${v6}`),
      );
      if (chains.includes(chain)) {
        const foreign = rules.filter((r) => !isOurs(r) && r.target === chain);
        const inside = rules.filter((r) => r.chain === chain);
        if (foreign.length > 0) {
          plan.notes.push(
            `keep chain ${chain}${v6}: ${foreign.length} rule(s) not made by netmon jump to it (${foreign[0]?.chain} ${
              foreign[0]?.spec
            })`,
          );
        } else if (inside.length > 0) {
          plan.notes.push(`keep chain ${chain}${v6}: it holds ${inside.length} rule(s) not made by netmon`);
        } else {
          lines.push(`-X ${chain}`);
          plan.notes.push(`delete chain ${chain}${v6}`);
        }
      }
      if (lines.length > 0) plan.commands.push(this.restore(t, lines));
    }
    if (plan.commands.length === 0) {
      return { notes: ["no netmon rules are installed: nothing to change"], commands: [] };
    }
    return plan;
  }

  private async listed(t: Tools): Promise<ListedChain[]> {
    const { stdout } = await this.run(t.list, ["-w", String(this.config.wait), "-t", "filter", "-L", "-n", "-v", "-x"]);
    return parseIptablesList(stdout, `${t.list} -L`);
  }

  /**
   * Finds every rule's installed counterpart by its comment and match. Each
   * installed rule serves one wanted rule; leftovers with our comments are
   * duplicates, reported.
   */
  private async find(): Promise<Map<MeterRule, ListedRule | string>> {
    const found = new Map<MeterRule, ListedRule | string>();
    for (const t of this.tools) {
      // Only the hook chains can hold meters' rules; index them by chain, then comment.
      const index = new Map<string, Map<string, ListedRule[]>>();
      for (const chain of await this.listed(t)) {
        if (!(HOOKS as readonly string[]).includes(chain.name)) continue;
        const byComment = new Map<string, ListedRule[]>();
        index.set(chain.name, byComment);
        for (const r of chain.rules) {
          if (r.target !== this.config.chain) continue;
          for (const c of r.comments) {
            const list = byComment.get(c);
            if (list) list.push(r);
            else byComment.set(c, [r]);
          }
        }
      }
      for (const rule of this.rules) {
        if (rule.family !== t.family) continue;
        const candidates = index.get(rule.hook)?.get(meterComment(rule.column));
        if (!candidates || candidates.length === 0) {
          found.set(rule, "");
          continue;
        }
        const at = candidates.findIndex((c) => describeMismatch(rule, c, t.any) === "");
        if (at < 0) found.set(rule, describeMismatch(rule, candidates[0] as ListedRule, t.any));
        else found.set(rule, candidates.splice(at, 1)[0] as ListedRule);
      }
      // Rules left over under a comment every wanted rule of which was found: duplicates.
      const served = new Set<string>();
      for (const [rule, r] of found) if (rule.family === t.family && typeof r !== "string") served.add(rule.column);
      for (const [hook, byComment] of index) {
        for (const [comment, left] of byComment) {
          if (left.length > 0 && served.has(comment.slice(COMMENT_PREFIX.length))) {
            this.warnings.push(
              `${comment.slice(COMMENT_PREFIX.length)} has ${left.length} extra rule(s) in ${hook}${
                t.family === 6 ? " (IPv6)" : ""
              }, not counted: run 'netmon start' to repair`,
            );
          }
        }
      }
    }
    return found;
  }

  async read(): Promise<Reading> {
    const found = await this.find();
    const missing = new Set<string>();
    for (const [rule, r] of found) {
      if (r === "") missing.add(rule.column);
      else if (typeof r === "string") {
        throw new NetmonError(
          `meter ${rule.column}: the installed rule in ${rule.hook} ${r}: run 'netmon start' to update the rules`,
          EX.UNAVAILABLE,
        );
      }
    }
    if (missing.size > 0) {
      throw new NetmonError(
        `netmon's rules are not installed for meter${missing.size === 1 ? "" : "s"} ${
          [...missing].join(", ")
        }: run 'netmon start'`,
        EX.UNAVAILABLE,
      );
    }
    const bytes = new Map<string, bigint>();
    const packets = new Map<string, bigint>();
    for (const c of allColumns(this.config.meters)) {
      bytes.set(c.name, 0n);
      packets.set(c.name, 0n);
    }
    for (const [rule, r] of found) {
      const l = r as ListedRule;
      if (!l.exact || l.bytes === undefined) {
        throw new NetmonError(`meter ${rule.column}: iptables printed no exact byte counter`, EX.DATAERR);
      }
      bytes.set(rule.column, (bytes.get(rule.column) ?? 0n) + l.bytes);
      packets.set(rule.column, (packets.get(rule.column) ?? 0n) + (l.packets ?? 0n));
    }
    return { bytes, packets };
  }

  async status(): Promise<MeterStatus[]> {
    const found = await this.find();
    return [...found].map(([rule, r]) => {
      const where = `${rule.hook}${rule.family === 6 ? " IPv6" : ""}`;
      const row: MeterStatus = { meter: rule.column, where, installed: typeof r !== "string" };
      if (typeof r !== "string") {
        if (r.packets !== undefined) row.packets = r.packets;
        if (r.bytes !== undefined) row.bytes = r.bytes;
      }
      return row;
    });
  }
}

/** The text iptables -L -n prints for a match of one network. */
function listed(m: MeterRule["from"], any: string): string {
  if (!m) return any;
  return listedAddress({ negated: m.negated, family: any === "::/0" ? 6 : 4, cidr: m.cidrs[0] as string });
}

/**
 * Says how a listed rule differs from the wanted one, or "" when it is the
 * same. Checked field by field, stopping at the first difference: it runs
 * once per rule on every report.
 */
function describeMismatch(rule: MeterRule, r: ListedRule, any: string): string {
  const wantIface = (i: InterfaceMatch | undefined) => (i ? (i.negated ? "!" : "") + i.name : "*");
  const differs = (what: string, want: string, got: string) =>
    want === got || sameNetwork(want, got) ? "" : `matches ${what} ${got} but the config says ${want}`;
  return differs("source", listed(rule.from, any), r.source) ||
    differs("destination", listed(rule.to, any), r.destination) ||
    differs("input interface", wantIface(rule.in), r.in ?? "*") ||
    differs("output interface", wantIface(rule.out), r.out ?? "*");
}

/** True when two listed networks are the same written differently (e.g. IPv6 zero runs). */
function sameNetwork(a: string, b: string): boolean {
  const pa = parseAddressMatch(a), pb = parseAddressMatch(b);
  return typeof pa !== "string" && typeof pb !== "string" && pa.cidr === pb.cidr && pa.negated === pb.negated;
}
