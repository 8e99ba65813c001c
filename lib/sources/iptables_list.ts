/**
 * Parser for `iptables -L` / `ip6tables -L` output, with or without `-n`,
 * `-v`, `-x` and `--line-numbers`, from iptables 1.4 to 1.8.
 *
 * Column positions are never taken from the header: with `-x` values are
 * wider than their headings and long target names shift what follows. The
 * header only says which columns exist; each rule line is then read field by
 * field. The target is the one field that may be blank, and iptables prints
 * it right after a single space following the counters (or at the start of
 * the line), so a space there means "no target".
 *
 * @module
 */

import { DataError } from "../errors.ts";

/** One rule as listed. */
export interface ListedRule {
  /** `--line-numbers` position. */
  num?: number;
  /** Packet counter (`-v`). */
  packets?: bigint;
  /** Byte counter (`-v`). */
  bytes?: bigint;
  /** False when counters were abbreviated (`K`, `M`… without `-x`). */
  exact: boolean;
  /** Jump target; "" when the rule has none. */
  target: string;
  /** Protocol, a name or (iptables 1.8.9/1.8.10 with -n) a number; may start with `!`. */
  prot: string;
  /** Fragment option column (`--`, `-f`, `!f`; "" in some ip6tables). */
  opt: string;
  /** Input interface (`-v`), `*` for any. */
  in?: string;
  /** Output interface (`-v`), `*` for any. */
  out?: string;
  /** Source, e.g. `0.0.0.0/0`, `!192.168.1.0/24`, `anywhere`. */
  source: string;
  /** Destination. */
  destination: string;
  /** The rest of the line: match and target options, trimmed. */
  options: string;
  /** Texts of `/* … *\/` comments in the options. */
  comments: string[];
}

/** One chain as listed. */
export interface ListedChain {
  /** Chain name. */
  name: string;
  /** Built-in chain policy, e.g. `ACCEPT`. */
  policy?: string;
  /** User chain reference count. */
  references?: number;
  /** Rules in order. */
  rules: ListedRule[];
}

const CHAIN_LINE = /^Chain (\S+) \((?:policy (\S+)(?: (\d+) packets, (\d+) bytes)?|(\d+) references)\)\s*$/;
const OPT = /^(--|-f|!f)$/;
const UNIT: Record<string, bigint> = { K: 1000n, M: 1000n ** 2n, G: 1000n ** 3n, T: 1000n ** 4n, P: 1000n ** 5n };

function parseCount(text: string, where: string): { value: bigint; exact: boolean } {
  const m = /^(\d+)([KMGTP]?)$/.exec(text);
  if (!m) throw new DataError(`${where}: ${JSON.stringify(text)} is not a counter`);
  const unit = m[2] ? UNIT[m[2]] ?? 1n : 1n;
  return { value: BigInt(m[1] as string) * unit, exact: m[2] === "" };
}

/** A cursor over one line that yields whitespace-separated fields with positions. */
class Fields {
  pos = 0;
  constructor(readonly line: string) {}
  skipSpaces(): void {
    while (this.line[this.pos] === " ") this.pos++;
  }
  next(): string {
    this.skipSpaces();
    const start = this.pos;
    while (this.pos < this.line.length && this.line[this.pos] !== " ") this.pos++;
    return this.line.slice(start, this.pos);
  }
  peek(): string {
    const save = this.pos;
    const f = this.next();
    this.pos = save;
    return f;
  }
}

/**
 * Parses the text of `iptables -L [-n] [-v] [-x] [--line-numbers]`.
 *
 * @param where names the output in errors, e.g. `iptables -L`
 *
 * @example
 * ```ts
 * const chains = parseIptablesList("Chain INPUT (policy ACCEPT)\ntarget     prot opt source               destination\n");
 * chains[0]?.name; // "INPUT"
 * ```
 */
export function parseIptablesList(text: string, where = "iptables -L output"): ListedChain[] {
  const chains: ListedChain[] = [];
  let chain: ListedChain | undefined;
  let columns: Set<string> | undefined;
  const lines = text.split("\n");
  lines.forEach((raw, i) => {
    const line = raw.replace(/\r$/, "");
    const at = `${where} line ${i + 1}`;
    if (line.trim() === "") return;
    const head = CHAIN_LINE.exec(line);
    if (head) {
      chain = { name: head[1] as string, rules: [] };
      if (head[2] !== undefined) chain.policy = head[2];
      if (head[5] !== undefined) chain.references = Number(head[5]);
      chains.push(chain);
      columns = undefined;
      return;
    }
    if (!chain) throw new DataError(`${at}: rule before any "Chain" line`);
    if (!columns) {
      const names = line.trim().split(/\s+/);
      if (!names.includes("target") || !names.includes("source")) {
        throw new DataError(`${at}: expected the column header after "Chain ${chain.name}"`);
      }
      columns = new Set(names);
      return;
    }
    chain.rules.push(parseRule(line, columns, at));
  });
  return chains;
}

function parseRule(line: string, columns: Set<string>, at: string): ListedRule {
  const f = new Fields(line);
  const rule: ListedRule = {
    exact: true,
    target: "",
    prot: "",
    opt: "",
    source: "",
    destination: "",
    options: "",
    comments: [],
  };
  let targetAt: number;
  if (columns.has("num")) {
    const num = f.next();
    if (!/^\d+$/.test(num)) throw new DataError(`${at}: ${JSON.stringify(num)} is not a rule number`);
    rule.num = Number(num);
    // Without counters the number is left-aligned in a field of four.
    targetAt = Math.max(f.pos, 4) + 1;
  } else targetAt = 0;
  if (columns.has("pkts")) {
    const p = parseCount(f.next(), at);
    const b = parseCount(f.next(), at);
    rule.packets = p.value;
    rule.bytes = b.value;
    rule.exact = p.exact && b.exact;
    targetAt = f.pos + 1;
  }
  if (line[targetAt] !== undefined && line[targetAt] !== " ") {
    f.pos = targetAt;
    rule.target = f.next();
  } else f.pos = targetAt;
  rule.prot = f.next();
  if (OPT.test(f.peek())) rule.opt = f.next();
  if (columns.has("in")) {
    rule.in = f.next();
    rule.out = f.next();
  }
  rule.source = f.next();
  rule.destination = f.next();
  if (rule.destination === "") throw new DataError(`${at}: too few fields for a rule`);
  rule.options = line.slice(f.pos).trim();
  for (const m of rule.options.matchAll(/\/\* (.*?) \*\//g)) rule.comments.push(m[1] as string);
  return rule;
}
