/**
 * The one small interface every counter source implements: plan the
 * firewall changes `start` and `stop` make, read every meter's counter, and
 * describe what is installed.
 *
 * @module
 */

import type { Sample } from "../state/log_format.ts";
import { type Advice, netmonCommand, type RunWith } from "../host/invocation.ts";

/** A program to run, as an argument array, with optional standard input. */
export interface PlannedCommand {
  /** Absolute path of the program. */
  path: string;
  /** Its arguments. */
  args: string[];
  /** What it reads on stdin, if anything. */
  stdin?: string;
}

/** What `start` or `stop` would do. */
export interface Plan {
  /** Plain-words lines about the change, for the user (those naming a netmon command: said with lib/host/invocation.ts's advise). */
  notes: (string | Advice)[];
  /** Commands that carry it out, in order; empty when nothing is to change. */
  commands: PlannedCommand[];
  /**
   * Columns whose counters the commands create afresh (every rule of the
   * column made anew: iptables re-creates all of a column's rules when any
   * of them is added or removed; nftables makes afresh a counter it takes
   * over that its record does not list, and makes one it adds), since the
   * source may have no identity to show it (iptables) or it may be unknown
   * (the column's previous sample was of iptables, or there was none: a
   * meter added): `start` records them for the next report.
   */
  recreates?: string[];
  /**
   * What the commands would remove of meters that are neither the config's
   * nor among the columns its last start installed, one `COLUMN (WHERE)` each:
   * as far as netmon can tell another config's, whose metering would stop, so
   * the CLI runs such a plan only when told to (`--replace`).
   */
  unknown?: string[];
  /**
   * What the commands would replace (start) or remove (stop) of the config's
   * own meters whose installed rules (or counter) differ from those it
   * writes, where the state directory's record does not list them as this
   * config's, one `COLUMN (WHERE)` each: as far as netmon can tell another
   * config's meter of the same name on the same chain or table (or this
   * config's, edited, from before netmon kept the record), which the CLI
   * changes only when told to (`--replace`), like {@linkcode unknown}.
   */
  differing?: string[];
}

/** One meter's state as `status` shows it. */
export interface MeterStatus {
  /** Meter name. */
  meter: string;
  /** Where its counter lives, e.g. `INPUT` or `eth0 rx`. */
  where: string;
  /** False when its rule is missing. */
  installed: boolean;
  /** Packet counter, when the source has one. */
  packets?: bigint;
  /** Byte counter. */
  bytes?: bigint;
}

/** Counters read at one instant, per log column. */
export interface Reading {
  /** Cumulative bytes per column, in column order. */
  bytes: Map<string, bigint>;
  /** Cumulative packets per column, where the source counts them. */
  packets?: Map<string, bigint>;
  /** Packets since the last reading, from sources that clear on reading (pf -z). */
  intervalPackets?: Map<string, bigint>;
  /**
   * What each column's counter is, where the source can tell (an interface's
   * ifindex, an nftables counter's table and counter handles): a different
   * identity than at the previous sample means the counter was re-created
   * and counts from zero, whatever its value.
   */
  identities?: Map<string, string>;
  /** The reset reason a changed identity means, e.g. `interface re-created`. */
  identityReason?: string;
  /** pf: rule evaluations per label, which only a ruleset reload takes down. */
  evaluations?: Map<string, bigint>;
  /**
   * iptables: the columns whose rules are all installed in the exact text
   * `netmon start` writes, each once, and no other rule of theirs, so a start
   * that recorded it would re-create a column's rules is known to have done
   * so (it re-creates a column only when that was not the case).
   */
  asWritten?: Set<string>;
  /** The logged values are netmon's own running sums (pf -z), which no reset or reboot takes down. */
  carried?: boolean;
  /** The source that read it, where `netmon start` records rules it made afresh: only its own records apply. */
  source?: string;
}

/** A counter source: iptables, the kernel's interface counters, … */
export interface CounterSource {
  /** Name as in the config's `source`. */
  readonly name: string;
  /**
   * Plans installing the meters' rules; reads the current ruleset. `former`
   * are the columns this config's last start installed: their rules are the
   * config's own to remove, like its meters' (see {@linkcode Plan.unknown}).
   * `formerChain` is the iptables chain those rules jump to, when the
   * record says: a chain the config no longer names, whose rules are still
   * its own. `formerTable` is the nftables table that holds their counters,
   * likewise. (A record naming the other firewall's means the config's
   * source changed since.)
   */
  planStart(former?: ReadonlySet<string>, formerChain?: string, formerTable?: string): Promise<Plan>;
  /** Plans removing exactly netmon's rules of this config, `former`, `formerChain` and `formerTable` as for planStart. */
  planStop(former?: ReadonlySet<string>, formerChain?: string, formerTable?: string): Promise<Plan>;
  /**
   * Reads every column's counters, in column order, with one command per
   * address family. `previous` is the last logged sample (or a promise of it:
   * a read may start its command before it is known), for sources that clear
   * their counters on reading (pf -z) and keep the log cumulative; those wait
   * for it before clearing anything.
   */
  read(previous?: Sample | Promise<Sample | undefined>): Promise<Reading>;
  /** Reads what is installed and its counters, without logging. */
  status(): Promise<MeterStatus[]>;
  /** Non-fatal things noticed while reading, for stderr (those naming a netmon command: said with advise). */
  readonly warnings: readonly (string | Advice)[];
  /**
   * iptables: rules not made by netmon that jump to its chain (the 2010
   * network_monitor.py's, left behind), found by {@linkcode status}: each what
   * it is and the command that removes it (or the start that takes it over).
   */
  readonly foreignRules?: ForeignRule[];
}

/**
 * A rule not made by netmon that jumps to its chain, as status and doctor
 * name it: what it is, where, and either the meter whose rule it is (which
 * `start` takes over) or the command that removes it.
 */
export type ForeignRule = ForeignTakeover | ForeignRemoval;

/** A rule not made by netmon that `start` takes over. */
export interface ForeignTakeover {
  /** What it is, where. */
  what: string;
  /** The meter whose rule it is exactly, not installed: `netmon start` (named by {@linkcode foreignAdvice}) takes it over with its counters. */
  takeover: string;
}

/** A rule not made by netmon that is removed by hand. */
export interface ForeignRemoval {
  /** What it is, where. */
  what: string;
  /** The command that removes it. */
  fix: string;
}

/** Names as a message lists them: `a, b, c and 2 more` past three. */
export function firstThree(names: readonly string[]): string {
  return names.length > 3 ? `${names.slice(0, 3).join(", ")} and ${names.length - 3} more` : names.join(", ");
}

/**
 * The other way with `rules` not made by netmon that no meter matches: a meter of each match, which `start` then
 * takes over with the rule's counters (the removal throws them away).
 */
export function takeItOver(rules = 1): string {
  return rules === 1
    ? "or give the config its address (from = …) to take it over with its counters"
    : "or give the config their addresses (from = …) to take them over with their counters";
}

/**
 * What status and doctor say of a rule not made by netmon that jumps to its
 * chain, and the fix: the start that takes it over names the config and state
 * directory the run was `given` (-c, -s), so that it acts on what was looked at.
 */
export function foreignAdvice(r: ForeignRule, given: RunWith = {}): string {
  return "fix" in r
    ? `${r.what}: remove it with ${r.fix}, ${takeItOver()}`
    : `${r.what}: it is meter ${r.takeover}'s rule without netmon's comment: run '${
      netmonCommand("start", given)
    }', which takes it over with its counters`;
}
