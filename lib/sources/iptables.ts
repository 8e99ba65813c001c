/**
 * The iptables source: one rule per meter in a built-in chain, each jumping
 * to netmon's empty chain and tagged `netmon:METER` in a comment. Rules are
 * found by that comment, never by position, changed in one
 * `iptables-restore --noflush` transaction, and read with one `iptables -L`.
 *
 * @module
 */

import { listedAddress } from "../address.ts";
import type { Runner } from "../command.ts";
import { type Config, HOOKS, type InterfaceMatch, type Meter } from "../config.ts";
import { EX, NetmonError } from "../errors.ts";
import { type ListedChain, type ListedRule, parseIptablesList } from "./iptables_list.ts";
import { parseIptablesSave, quoteArg, type SavedRule } from "./iptables_save.ts";
import type { CounterSource, MeterStatus, Plan } from "./source.ts";

/** Comment prefix that marks a rule as netmon's. */
export const COMMENT_PREFIX = "netmon:";

/** The comment on meter `name`'s rule. */
export function meterComment(name: string): string {
  return COMMENT_PREFIX + name;
}

function ifaceArg(flag: string, m: InterfaceMatch | undefined): string[] {
  return m ? [`${m.negated ? "! " : ""}${flag} ${m.name}`] : [];
}

/**
 * The rule for `meter` as iptables-save prints it after `-A HOOK`, so an
 * installed rule can be recognised by comparing text.
 */
export function ruleSpec(meter: Meter, chain: string): string {
  const parts: string[] = [];
  if (meter.from) parts.push(`${meter.from.negated ? "! " : ""}-s ${meter.from.cidr}`);
  if (meter.to) parts.push(`${meter.to.negated ? "! " : ""}-d ${meter.to.cidr}`);
  parts.push(...ifaceArg("-i", meter.in), ...ifaceArg("-o", meter.out));
  parts.push(`-m comment --comment ${quoteArg(meterComment(meter.name))}`, `-j ${chain}`);
  return parts.join(" ");
}

function isOurs(rule: SavedRule): boolean {
  return rule.comment?.startsWith(COMMENT_PREFIX) ?? false;
}

/** Builds an iptables-restore script for the filter table. */
function restoreScript(lines: string[]): string {
  return `*filter\n${lines.join("\n")}\nCOMMIT\n`;
}

/** The iptables counter source. */
export class IptablesSource implements CounterSource {
  readonly name = "iptables";
  readonly warnings: string[] = [];
  constructor(private readonly config: Config, private readonly run: Runner) {}

  private async saved(): Promise<{ rules: SavedRule[]; chains: string[] }> {
    const { stdout } = await this.run(this.config.binaries.iptablesSave, ["-t", "filter"]);
    const table = parseIptablesSave(stdout, this.config.binaries.iptablesSave).find((t) => t.name === "filter");
    return { rules: table?.rules ?? [], chains: table?.chains ?? [] };
  }

  private restore(lines: string[]): Plan["commands"] {
    return [{
      path: this.config.binaries.iptablesRestore,
      args: ["--noflush", `--wait=${this.config.wait}`],
      stdin: restoreScript(lines),
    }];
  }

  /** Diff of the installed rules against the config, kept rules untouched so their counters survive. */
  async planStart(): Promise<Plan> {
    const { chain, meters } = this.config;
    const { rules, chains } = await this.saved();
    const installed = rules.filter(isOurs).map((r) => ({ key: `${r.chain} ${r.spec}`, rule: r }));
    const wanted = meters.map((m) => ({ key: `${m.hook} ${ruleSpec(m, chain)}`, meter: m }));
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
    const notes: string[] = [];
    if (!chains.includes(chain)) {
      lines.push(`:${chain} - [0:0]`);
      notes.push(`create chain ${chain}`);
    }
    for (const r of unmatched) {
      lines.push(`-D ${r.key}`);
      notes.push(`remove stale rule of ${r.rule.comment?.slice(COMMENT_PREFIX.length)} from ${r.rule.chain}`);
    }
    for (const w of [...toAdd].reverse()) lines.push(`-I ${w.meter.hook} 1 ${ruleSpec(w.meter, chain)}`);
    for (const w of toAdd) notes.push(`add rule for meter ${w.meter.name} to ${w.meter.hook}`);
    const kept = meters.length - toAdd.length;
    if (kept > 0) notes.push(`keep ${kept} installed rule${kept === 1 ? "" : "s"} and their counters`);
    if (lines.length === 0) {
      return { notes: [`all ${meters.length} meters' rules are installed: nothing to change`], commands: [] };
    }
    return { notes, commands: this.restore(lines) };
  }

  async planStop(): Promise<Plan> {
    const { chain } = this.config;
    const { rules, chains } = await this.saved();
    const ours = rules.filter(isOurs);
    const lines = ours.map((r) => `-D ${r.chain} ${r.spec}`);
    const notes = ours.map((r) => `remove rule of ${r.comment?.slice(COMMENT_PREFIX.length)} from ${r.chain}`);
    if (chains.includes(chain)) {
      const foreign = rules.filter((r) => !isOurs(r) && r.target === chain);
      const inside = rules.filter((r) => r.chain === chain);
      if (foreign.length > 0) {
        notes.push(
          `keep chain ${chain}: ${foreign.length} rule(s) not made by netmon jump to it (${foreign[0]?.chain} ${
            foreign[0]?.spec
          })`,
        );
      } else if (inside.length > 0) {
        notes.push(`keep chain ${chain}: it holds ${inside.length} rule(s) not made by netmon`);
      } else {
        lines.push(`-X ${chain}`);
        notes.push(`delete chain ${chain}`);
      }
    }
    if (lines.length === 0) return { notes: ["no netmon rules are installed: nothing to change"], commands: [] };
    return { notes, commands: this.restore(lines) };
  }

  private async listed(): Promise<ListedChain[]> {
    const { stdout } = await this.run(this.config.binaries.iptables, [
      "-w",
      String(this.config.wait),
      "-t",
      "filter",
      "-L",
      "-n",
      "-v",
      "-x",
    ]);
    return parseIptablesList(stdout, `${this.config.binaries.iptables} -L`);
  }

  /** Finds each meter's rule by its comment; several rules with one comment are reported. */
  private async find(): Promise<Map<string, ListedRule | undefined>> {
    // Only the hook chains can hold meters' rules; index them by chain, then comment.
    const index = new Map<string, Map<string, ListedRule[]>>();
    for (const chain of await this.listed()) {
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
    const found = new Map<string, ListedRule | undefined>();
    for (const m of this.config.meters) {
      const mine = index.get(m.hook)?.get(meterComment(m.name)) ?? [];
      if (mine.length > 1) {
        this.warnings.push(
          `meter ${m.name} has ${mine.length} rules in ${m.hook}; using the first, run 'netmon start' to repair`,
        );
      }
      found.set(m.name, mine[0]);
    }
    return found;
  }

  async read(): Promise<Map<string, bigint>> {
    const found = await this.find();
    const missing = [...found].filter(([, r]) => r === undefined).map(([m]) => m);
    if (missing.length > 0) {
      throw new NetmonError(
        `netmon's rules are not installed for meter${missing.length === 1 ? "" : "s"} ${
          missing.join(", ")
        }: run 'netmon start'`,
        EX.UNAVAILABLE,
      );
    }
    const counters = new Map<string, bigint>();
    for (const m of this.config.meters) {
      const rule = found.get(m.name) as ListedRule;
      const mismatch = describeMismatch(m, rule);
      if (mismatch) {
        throw new NetmonError(
          `meter ${m.name}: the installed rule ${mismatch}: run 'netmon start' to update the rules`,
          EX.UNAVAILABLE,
        );
      }
      if (!rule.exact || rule.bytes === undefined) {
        throw new NetmonError(`meter ${m.name}: iptables printed no exact byte counter`, EX.DATAERR);
      }
      counters.set(m.name, rule.bytes);
    }
    return counters;
  }

  async status(): Promise<MeterStatus[]> {
    const found = await this.find();
    return this.config.meters.map((m) => {
      const r = found.get(m.name);
      const row: MeterStatus = { meter: m.name, where: m.hook, installed: r !== undefined };
      if (r?.packets !== undefined) row.packets = r.packets;
      if (r?.bytes !== undefined) row.bytes = r.bytes;
      return row;
    });
  }
}

/** Says how a listed rule differs from what the meter's config asks for, or "". */
function describeMismatch(m: Meter, r: ListedRule): string {
  const wantIface = (i: InterfaceMatch | undefined) => (i ? (i.negated ? "!" : "") + i.name : "*");
  const checks: [string, string, string][] = [
    ["source", m.from ? listedAddress(m.from) : "0.0.0.0/0", r.source],
    ["destination", m.to ? listedAddress(m.to) : "0.0.0.0/0", r.destination],
    ["input interface", wantIface(m.in), r.in ?? "*"],
    ["output interface", wantIface(m.out), r.out ?? "*"],
  ];
  const bad = checks.find(([, want, got]) => want !== got);
  return bad ? `matches ${bad[0]} ${bad[2]} but the config says ${bad[1]}` : "";
}
