/**
 * The pf source: meters are pf rule labels, as in the 2004 article. On pf
 * the administrator owns the ruleset, so netmon installs nothing:
 * `netmon pf-conf` prints the labelled rules to add to pf.conf, and reports
 * read `pfctl -vsl` (cumulative), or `pfctl -zvsl` (read and clear) when
 * `pf_zero = true`, adding each interval to the last logged value so the log
 * stays cumulative either way.
 *
 * @module
 */

import type { Runner } from "../host/run.ts";
import type { Config } from "../config/config.ts";
import { DataError, EX } from "../host/errors.ts";
import type { Sample } from "../state/log_format.ts";
import { AdvisedError } from "../host/invocation.ts";
import { allColumns, type Meter, type MeterRule, meterRules } from "../config/meters.ts";
import type { CounterSource, MeterStatus, Plan, Reading } from "./source.ts";

/** One label's counters, summed over every rule that carries it. */
export interface LabelCounters {
  /** Times the rules were evaluated: counted since the ruleset was loaded, so it goes down only on a reload. */
  evaluations: bigint;
  /** Packets, both directions. */
  packets: bigint;
  /** Bytes, both directions. */
  bytes: bigint;
  /** How many rules carry the label (rules expanded from lists repeat it). */
  rules: number;
}

/**
 * How many numbers follow the label(s) on a line, by pfctl version: 3
 * (evaluations, packets, bytes: 2002-era), 7 (plus in and out packets and
 * bytes: 2007) or 8 (plus state creations: OpenBSD 4.4 and FreeBSD 9 on).
 */
const WIDTHS = [8, 7, 3];
const NUMBER = /^\d{1,20}$/;

/**
 * Splits label text into known labels: the whole text when it is one (labels
 * may hold spaces), else a sequence of them (FreeBSD 13+ prints every label
 * of a rule, each followed by a space), else undefined.
 */
function splitLabels(words: string[], known: ReadonlySet<string>): string[] | undefined {
  const whole = words.join(" ");
  if (known.has(whole)) return [whole];
  // best[i]: a split of words[i..] into known labels, fewest labels first.
  const best: (string[] | undefined)[] = Array(words.length + 1);
  best[words.length] = [];
  for (let i = words.length - 1; i >= 0; i--) {
    for (let j = words.length; j > i; j--) {
      const rest = best[j];
      const label = words.slice(i, j).join(" ");
      if (rest && known.has(label) && (!best[i] || (best[i] as string[]).length > rest.length + 1)) {
        best[i] = [label, ...rest];
      }
    }
  }
  return best[0];
}

/**
 * Parses `pfctl -sl` / `-vsl` / `-zvsl` output, keeping the labels in
 * `known`. Lines are read from the right: the numbers, then the label text.
 * Lines for other labels are skipped. A label on several lines is summed.
 *
 * @example
 * ```ts
 * parsePfLabels("web-inbound 421 1081 470209\n", new Set(["web-inbound"])).get("web-inbound")?.bytes; // 470209n
 * ```
 */
export function parsePfLabels(
  text: string,
  known: ReadonlySet<string>,
  where = "pfctl -sl",
): Map<string, LabelCounters> {
  const out = new Map<string, LabelCounters>();
  text.split("\n").forEach((raw, i) => {
    const words = raw.trim().split(/\s+/).filter((w) => w !== "");
    if (words.length === 0 || words[0] === "LABEL") return;
    let trailing = 0;
    while (trailing < words.length && NUMBER.test(words[words.length - 1 - trailing] as string)) trailing++;
    for (const width of WIDTHS) {
      // A label that ends in a number leaves more numbers than the format has.
      if (trailing < width || words.length === width) continue;
      const labels = splitLabels(words.slice(0, words.length - width), known);
      if (!labels) continue;
      const nums = words.slice(words.length - width).map((w) => BigInt(w));
      const [evaluations, packets, bytes] = [nums[0] as bigint, nums[1] as bigint, nums[2] as bigint];
      if (width > 3 && (nums[3] as bigint) + (nums[5] as bigint) !== packets) {
        throw new DataError(
          `${where} line ${i + 1}: in and out packets do not add up to the total; is this pfctl -sl?`,
        );
      }
      for (const l of labels) {
        const c = out.get(l) ?? { evaluations: 0n, packets: 0n, bytes: 0n, rules: 0 };
        c.evaluations += evaluations;
        c.packets += packets;
        c.bytes += bytes;
        c.rules++;
        out.set(l, c);
      }
      return;
    }
  });
  return out;
}

/** pf's word for a rule's direction. */
function pfDirection(r: MeterRule): "in" | "out" {
  if (r.direction) return r.direction;
  return r.hook === "OUTPUT" ? "out" : "in";
}

/** A pf table name for a meter's list: `<netmon-NAME-KEY>`, shortened to pf's 31 characters. */
function tableName(meter: Meter, index: number, key: string): string {
  const name = `netmon-${meter.name}-${key}`;
  return name.length <= 31 ? name : `netmon-${index + 1}-${key}`;
}

/**
 * The pf.conf lines for the configured meters: a table for each list of
 * more than one network, then one labelled `pass` rule per direction and
 * family. The label is the log column.
 */
export function pfConf(config: Config): string {
  const tables: string[] = [];
  const rules: string[] = [];
  const seen = new Set<string>();
  config.meters.forEach((m, index) => {
    const tableOf = new Map<string, string>();
    for (const key of ["from", "to", "address"] as const) {
      const l = m[key];
      if (!l) continue;
      for (const [fam, cidrs] of [["4", l.v4], ["6", l.v6]] as const) {
        if (cidrs.length < 2) continue;
        const name = tableName(m, index, `${key}${l.v4.length && l.v6.length ? fam : ""}`);
        tableOf.set(cidrs.join(","), name);
        tables.push(`table <${name}> const { ${cidrs.join(", ")} }`);
      }
    }
    const addr = (x: MeterRule["from"]) => {
      if (!x) return "any";
      const t = tableOf.get(x.cidrs.join(","));
      return `${x.negated ? "! " : ""}${t ? `<${t}>` : x.cidrs[0]}`;
    };
    for (const r of meterRules(m, false)) {
      const dir = pfDirection(r);
      const iface = dir === "in" ? r.in : r.out;
      const on = iface ? ` on ${iface.negated ? "! " : ""}${iface.name}` : "";
      const fam = r.family === 4 ? "inet" : "inet6";
      const line = `pass ${dir}${on} ${fam} from ${addr(r.from)} to ${addr(r.to)} label "${r.column}" keep state`;
      if (!seen.has(line)) rules.push(line);
      seen.add(line);
    }
  });
  return [
    "# netmon meters for pf.conf, generated by 'netmon pf-conf'.",
    "# pf charges a packet to the LAST matching rule (unless an earlier one is 'quick'),",
    "# so put these rules at the end of the filter rules. They PASS what they count:",
    "# they override earlier non-quick block rules for that traffic, as in the 2004 setup.",
    "# With 'keep state' a connection's replies count for the rule that created its state.",
    ...(tables.length > 0 ? ["", ...tables] : []),
    "",
    ...rules,
    "",
  ].join("\n");
}

/** The pf counter source. */
export class PfSource implements CounterSource {
  readonly name = "pf";
  readonly warnings: string[] = [];
  private readonly labels: string[];
  constructor(private readonly config: Config, private readonly run: Runner) {
    this.labels = allColumns(config.meters).map((c) => c.name);
  }

  private plan(what: string): Promise<Plan> {
    return Promise.resolve({
      notes: [
        (netmon) =>
          `pf: the ruleset is yours, so netmon ${what} nothing; run '${netmon("pf-conf")}' for the labelled rules`,
        "to put in /etc/pf.conf, then load them with: pfctl -f /etc/pf.conf",
      ],
      commands: [],
    });
  }

  planStart(): Promise<Plan> {
    return this.plan("installs");
  }

  planStop(): Promise<Plan> {
    return this.plan("removes");
  }

  private async labelCounters(clear: boolean): Promise<Map<string, LabelCounters>> {
    const args = clear ? ["-z", "-v", "-s", "labels"] : ["-v", "-s", "labels"];
    const { stdout } = await this.run(this.config.binaries.pfctl, args);
    return parsePfLabels(stdout, new Set(this.labels), `${this.config.binaries.pfctl} -${clear ? "z" : ""}vsl`);
  }

  async read(previousSample?: Sample | Promise<Sample | undefined>): Promise<Reading> {
    // Before pfctl -z clears anything: a previous state that cannot be read stops the run with the counters intact.
    const previous = await previousSample;
    const found = await this.labelCounters(this.config.pfZero);
    const missing = this.labels.filter((l) => !found.has(l));
    if (missing.length > 0) {
      throw new AdvisedError(
        (netmon) =>
          `pf has no rule labelled ${missing.map((l) => JSON.stringify(l)).join(", ")}: add the rules from ` +
          `'${netmon("pf-conf")}' to pf.conf and run 'pfctl -f /etc/pf.conf'`,
        EX.UNAVAILABLE,
      );
    }
    const bytes = new Map<string, bigint>();
    const packets = new Map<string, bigint>();
    const evaluations = new Map<string, bigint>();
    for (const l of this.labels) {
      const c = found.get(l) as LabelCounters;
      // pfctl -z has just cleared the counters: what it printed is this interval's traffic.
      bytes.set(l, c.bytes + (this.config.pfZero ? previous?.counters.get(l) ?? 0n : 0n));
      packets.set(l, c.packets);
      evaluations.set(l, c.evaluations);
    }
    if (!this.config.pfZero) return { bytes, packets, evaluations };
    // The log keeps no packet counts to add to: the store adds these to its own.
    return {
      bytes,
      intervalPackets: new Map(this.labels.map((l) => [l, (found.get(l) as LabelCounters).packets])),
      carried: true,
    };
  }

  async status(): Promise<MeterStatus[]> {
    const found = await this.labelCounters(false);
    return this.labels.map((l) => {
      const c = found.get(l);
      const row: MeterStatus = {
        meter: l,
        where: `pf label${c && c.rules > 1 ? ` (${c.rules} rules)` : ""}`,
        installed: !!c,
      };
      if (c) {
        row.packets = c.packets;
        row.bytes = c.bytes;
      }
      return row;
    });
  }
}
