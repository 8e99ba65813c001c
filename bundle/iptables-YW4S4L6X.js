import {
  listedAddress,
  parseAddressMatch
} from "./chunk-PLIP7BKU.js";
import {
  allColumns,
  meterRules
} from "./chunk-TKJPBJ7E.js";
import {
  DataError,
  EX,
  NetmonError
} from "./chunk-F6H2ZAXR.js";

// lib/sources/iptables_save.ts
function splitArgs(text, where) {
  const args = [];
  let cur = "";
  let inArg = false;
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === "\\" && (text[i + 1] === '"' || text[i + 1] === "\\")) cur += text[++i];
      else if (c === '"') quoted = false;
      else cur += c;
    } else if (c === " " || c === "	") {
      if (inArg) args.push(cur);
      cur = "";
      inArg = false;
    } else if (c === '"') {
      quoted = true;
      inArg = true;
    } else {
      cur += c;
      inArg = true;
    }
  }
  if (quoted) throw new DataError(`${where}: unterminated quote`);
  if (inArg) args.push(cur);
  return args;
}
function quoteArg(value) {
  return `"${value.replace(/[\\"]/g, (c) => "\\" + c)}"`;
}
function parseIptablesSave(text, where = "iptables-save output") {
  const tables = [];
  let table;
  text.split("\n").forEach((raw, i) => {
    const line = raw.trim();
    const at = `${where} line ${i + 1}`;
    if (line === "" || line.startsWith("#")) return;
    if (line.startsWith("*")) {
      table = {
        name: line.slice(1),
        chains: [],
        rules: []
      };
      tables.push(table);
      return;
    }
    if (!table) throw new DataError(`${at}: ${JSON.stringify(line.slice(0, 40))} outside a *table`);
    if (line === "COMMIT") {
      table = void 0;
      return;
    }
    if (line.startsWith(":")) {
      table.chains.push(line.slice(1).split(" ")[0]);
      return;
    }
    let rest = line;
    let counters;
    const c = /^\[(\d+):(\d+)\]\s+/.exec(rest);
    if (c) {
      counters = {
        packets: BigInt(c[1]),
        bytes: BigInt(c[2])
      };
      rest = rest.slice(c[0].length);
    }
    const a = /^-A (\S+) ?(.*)$/.exec(rest);
    if (!a) throw new DataError(`${at}: expected "-A CHAIN \u2026" but got ${JSON.stringify(rest.slice(0, 40))}`);
    const spec = a[2];
    const args = splitArgs(spec, at);
    const rule = {
      chain: a[1],
      spec,
      args,
      target: ""
    };
    for (let k = 0; k < args.length; k++) {
      const value = args[k + 1];
      if (args[k] === "-j" || args[k] === "-g") rule.target = value ?? "";
      if (args[k] === "--comment" && value !== void 0) rule.comment = value;
    }
    if (counters) rule.counters = counters;
    table.rules.push(rule);
  });
  return tables;
}
var DIGITS = /^\d+$/;
function forEachCountedRule(text, where, fn) {
  let line = 0;
  for (let start = 0; start < text.length; ) {
    let end = text.indexOf("\n", start);
    if (end < 0) end = text.length;
    line++;
    const first = text.charCodeAt(start);
    if (first === 91 || first === 45) {
      const raw = text.slice(start, end);
      const close = raw.indexOf("] -A ");
      const colon = raw.indexOf(":");
      const packets = raw.slice(1, colon), bytes = raw.slice(colon + 1, close);
      if (first !== 91 || close < 0 || colon < 0 || colon > close || !DIGITS.test(packets) || !DIGITS.test(bytes)) {
        throw new DataError(`${where} line ${line}: expected "[packets:bytes] -A CHAIN \u2026" but got ${JSON.stringify(raw.slice(0, 40))}`);
      }
      fn({
        key: raw.slice(close + 5),
        packets: BigInt(packets),
        bytes: BigInt(bytes),
        line
      });
    }
    start = end + 1;
  }
}

// lib/sources/iptables.ts
var COMMENT_PREFIX = "netmon:";
function meterComment(column) {
  return COMMENT_PREFIX + column;
}
function ifaceArg(flag, m) {
  return m ? [
    `${m.negated ? "! " : ""}${flag} ${m.name}`
  ] : [];
}
function addrArg(flag, m) {
  return m ? [
    `${m.negated ? "! " : ""}${flag} ${m.cidrs[0]}`
  ] : [];
}
function ruleSpec(rule, chain) {
  return [
    ...addrArg("-s", rule.from),
    ...addrArg("-d", rule.to),
    ...ifaceArg("-i", rule.in),
    ...ifaceArg("-o", rule.out),
    `-m comment --comment ${quoteArg(meterComment(rule.column))}`,
    `-j ${chain}`
  ].join(" ");
}
function isOurs(rule) {
  return rule.comment?.startsWith(COMMENT_PREFIX) ?? false;
}
function restoreScript(lines) {
  return `*filter
${lines.join("\n")}
COMMIT
`;
}
var IptablesSource = class {
  config;
  run;
  name;
  warnings;
  rules;
  /** Both families' programs. */
  allTools;
  /** The programs of the families the meters use. */
  tools;
  constructor(config, run) {
    this.config = config;
    this.run = run;
    this.name = "iptables";
    this.warnings = [];
    this.rules = config.meters.flatMap((m) => meterRules(m, true));
    const b = config.binaries;
    const families = new Set(this.rules.map((r) => r.family));
    this.allTools = [
      {
        family: 4,
        save: b.iptablesSave,
        restore: b.iptablesRestore,
        any: "0.0.0.0/0"
      },
      {
        family: 6,
        save: b.ip6tablesSave,
        restore: b.ip6tablesRestore,
        any: "::/0"
      }
    ];
    this.tools = this.allTools.filter((t) => families.has(t.family));
  }
  async saved(t) {
    const { stdout } = await this.run(t.save, [
      "-t",
      "filter"
    ]);
    const table = parseIptablesSave(stdout, t.save).find((x) => x.name === "filter");
    return {
      rules: table?.rules ?? [],
      chains: table?.chains ?? []
    };
  }
  /**
   * The ruleset of a family no meter uses, to clear netmon's rules left there
   * by an earlier config; undefined where it cannot be read (the program is
   * not allowed, not installed, or the family is not in the kernel), which
   * also means netmon cannot have put rules there.
   */
  async savedIfReadable(t) {
    if (Deno.permissions.querySync({
      name: "run",
      command: t.save
    }).state !== "granted") return void 0;
    try {
      return await this.saved(t);
    } catch (err) {
      if (err instanceof NetmonError) return void 0;
      throw err;
    }
  }
  /** Removing netmon's rules from a family, and its chain when nothing else uses it; `what` names the rules. */
  removal(t, saved, what) {
    const { chain } = this.config;
    const v6 = t.family === 6 ? " (IPv6)" : "";
    const { rules, chains } = saved;
    const ours = rules.filter(isOurs);
    const lines = ours.map((r) => `-D ${r.chain} ${r.spec}`);
    const notes = ours.map((r) => `remove ${what} of ${r.comment?.slice(COMMENT_PREFIX.length)} from ${r.chain}${v6}`);
    if (chains.includes(chain)) {
      const foreign = rules.filter((r) => !isOurs(r) && r.target === chain);
      const inside = rules.filter((r) => r.chain === chain);
      if (foreign.length > 0) {
        notes.push(`keep chain ${chain}${v6}: ${foreign.length} rule(s) not made by netmon jump to it (${foreign[0]?.chain} ${foreign[0]?.spec})`);
      } else if (inside.length > 0) {
        notes.push(`keep chain ${chain}${v6}: it holds ${inside.length} rule(s) not made by netmon`);
      } else {
        lines.push(`-X ${chain}`);
        notes.push(`delete chain ${chain}${v6}`);
      }
    }
    return {
      notes,
      commands: lines.length > 0 ? [
        this.restore(t, lines)
      ] : []
    };
  }
  restore(t, lines) {
    return {
      path: t.restore,
      args: [
        "--noflush",
        `--wait=${this.config.wait}`
      ],
      stdin: restoreScript(lines)
    };
  }
  /** Diff of the installed rules against the config, kept rules untouched so their counters survive. */
  async planStart() {
    const plan = {
      notes: [],
      commands: []
    };
    let kept = 0;
    for (const t of this.allTools) {
      if (!this.tools.includes(t)) {
        const saved = await this.savedIfReadable(t);
        const gone = saved && this.removal(t, saved, "stale rule");
        if (gone?.commands.length) {
          plan.notes.push(...gone.notes);
          plan.commands.push(...gone.commands);
        }
        continue;
      }
      const { chain } = this.config;
      const v6 = t.family === 6 ? " (IPv6)" : "";
      const { rules, chains } = await this.saved(t);
      const installed = rules.filter(isOurs).map((r) => ({
        key: `${r.chain} ${r.spec}`,
        rule: r
      }));
      const wanted = this.rules.filter((r) => r.family === t.family).map((r) => ({
        key: `${r.hook} ${ruleSpec(r, chain)}`,
        rule: r
      }));
      const pool = /* @__PURE__ */ new Map();
      for (const r of installed) {
        const same = pool.get(r.key);
        if (same) same.push(r);
        else pool.set(r.key, [
          r
        ]);
      }
      const toAdd = wanted.filter((w) => !pool.get(w.key)?.pop());
      const unmatched = [
        ...pool.values()
      ].flat();
      const lines = [];
      if (!chains.includes(chain)) {
        lines.push(`:${chain} - [0:0]`);
        plan.notes.push(`create chain ${chain}${v6}`);
      }
      for (const r of unmatched) {
        lines.push(`-D ${r.key}`);
        plan.notes.push(`remove stale rule of ${r.rule.comment?.slice(COMMENT_PREFIX.length)} from ${r.rule.chain}${v6}`);
      }
      for (const w of [
        ...toAdd
      ].reverse()) lines.push(`-I ${w.rule.hook} 1 ${ruleSpec(w.rule, chain)}`);
      for (const w of toAdd) plan.notes.push(`add rule for meter ${w.rule.column} to ${w.rule.hook}${v6}`);
      kept += wanted.length - toAdd.length;
      if (lines.length > 0) plan.commands.push(this.restore(t, lines));
    }
    if (plan.commands.length === 0) {
      return {
        notes: [
          `all ${this.config.meters.length} meters' rules are installed: nothing to change`
        ],
        commands: []
      };
    }
    if (kept > 0) plan.notes.push(`keep ${kept} installed rule${kept === 1 ? "" : "s"} and their counters`);
    return plan;
  }
  async planStop() {
    const plan = {
      notes: [],
      commands: []
    };
    for (const t of this.allTools) {
      const used = this.tools.includes(t);
      const saved = used ? await this.saved(t) : await this.savedIfReadable(t);
      if (!saved) continue;
      const gone = this.removal(t, saved, "rule");
      if (!used && gone.commands.length === 0) continue;
      plan.notes.push(...gone.notes);
      plan.commands.push(...gone.commands);
    }
    if (plan.commands.length === 0) {
      return {
        notes: [
          "no netmon rules are installed: nothing to change"
        ],
        commands: []
      };
    }
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
  async find() {
    const found = /* @__PURE__ */ new Map();
    const { chain } = this.config;
    const saves = this.tools.map((t) => this.run(t.save, [
      "-c",
      "-t",
      "filter"
    ]));
    for (const s of saves) s.catch(() => {
    });
    for (const [i, t] of this.tools.entries()) {
      const v6 = t.family === 6 ? " (IPv6)" : "";
      const where = `${t.save} -c`;
      const wanted = /* @__PURE__ */ new Map();
      for (const rule of this.rules) {
        if (rule.family === t.family) wanted.set(`${rule.hook} ${ruleSpec(rule, chain)}`, rule);
      }
      const strays = /* @__PURE__ */ new Map();
      const { stdout } = await saves[i];
      forEachCountedRule(stdout, where, (r) => {
        const rule = wanted.get(r.key);
        if (rule && !found.has(rule)) found.set(rule, {
          packets: r.packets,
          bytes: r.bytes
        });
        else if (rule || r.key.includes(COMMENT_PREFIX)) {
          const space = r.key.indexOf(" ");
          const match = savedMatch(splitArgs(r.key.slice(space + 1), `${where} line ${r.line}`));
          if (!match.comment?.startsWith(COMMENT_PREFIX)) return;
          const key = `${r.key.slice(0, space)} ${match.comment.slice(COMMENT_PREFIX.length)}`;
          let list = strays.get(key);
          if (!list) strays.set(key, list = []);
          list.push({
            match,
            counters: {
              packets: r.packets,
              bytes: r.bytes
            }
          });
        }
      });
      const served = /* @__PURE__ */ new Set();
      for (const rule of this.rules) {
        if (rule.family !== t.family) continue;
        const key = `${rule.hook} ${rule.column}`;
        if (!found.has(rule)) {
          const mine = strays.get(key) ?? [];
          const at = mine.findIndex((s) => describeMismatch(rule, s.match, chain, t.any) === "");
          if (at >= 0) found.set(rule, mine.splice(at, 1)[0].counters);
          else found.set(rule, mine[0] ? describeMismatch(rule, mine[0].match, chain, t.any) : "");
        }
        if (typeof found.get(rule) === "object") served.add(key);
      }
      for (const [key, left] of strays) {
        if (left.length === 0 || !served.has(key)) continue;
        const [hook, column] = key.split(" ");
        this.warnings.push(`${column} has ${left.length} extra rule(s) in ${hook}${v6}, not counted: run 'netmon start' to repair`);
      }
    }
    return found;
  }
  async read() {
    const found = await this.find();
    const missing = /* @__PURE__ */ new Set();
    for (const [rule, r] of found) {
      if (r === "") missing.add(rule.column);
      else if (typeof r === "string") {
        throw new NetmonError(`meter ${rule.column}: the installed rule in ${rule.hook} ${r}: run 'netmon start' to update the rules`, EX.UNAVAILABLE);
      }
    }
    if (missing.size > 0) {
      throw new NetmonError(`netmon's rules are not installed for meter${missing.size === 1 ? "" : "s"} ${[
        ...missing
      ].join(", ")}: run 'netmon start'`, EX.UNAVAILABLE);
    }
    const bytes = /* @__PURE__ */ new Map();
    const packets = /* @__PURE__ */ new Map();
    for (const c of allColumns(this.config.meters)) {
      bytes.set(c.name, 0n);
      packets.set(c.name, 0n);
    }
    for (const [rule, r] of found) {
      const c = r;
      bytes.set(rule.column, (bytes.get(rule.column) ?? 0n) + c.bytes);
      packets.set(rule.column, (packets.get(rule.column) ?? 0n) + c.packets);
    }
    return {
      bytes,
      packets
    };
  }
  async status() {
    const found = await this.find();
    return [
      ...found
    ].map(([rule, r]) => {
      const where = `${rule.hook}${rule.family === 6 ? " IPv6" : ""}`;
      const row = {
        meter: rule.column,
        where,
        installed: typeof r !== "string"
      };
      if (typeof r !== "string") {
        row.packets = r.packets;
        row.bytes = r.bytes;
      }
      return row;
    });
  }
};
var MATCH_FLAGS = {
  "-s": "source",
  "--source": "source",
  "-d": "destination",
  "--destination": "destination",
  "-i": "in",
  "--in-interface": "in",
  "-o": "out",
  "--out-interface": "out"
};
function savedMatch(args) {
  const m = {
    other: []
  };
  for (let k = 0; k < args.length; k++) {
    const negated = args[k] === "!";
    const flag = args[negated ? k + 1 : k];
    const value = args[negated ? k + 2 : k + 1];
    const field = MATCH_FLAGS[flag];
    if (field && value !== void 0) {
      m[field] = (negated ? "!" : "") + value;
      k += negated ? 2 : 1;
    } else if (flag === "--comment" && value !== void 0 && !negated) {
      m.comment = value;
      k++;
    } else if ((flag === "-j" || flag === "-g") && value !== void 0 && !negated) {
      m.target = `${flag} ${value}`;
      k++;
    } else if (!(flag === "-m" && value === "comment" && !negated)) m.other.push(args[k]);
    else k++;
  }
  return m;
}
function shownNetwork(m, any) {
  if (!m) return any;
  return listedAddress({
    negated: m.negated,
    family: any === "::/0" ? 6 : 4,
    cidr: m.cidrs[0]
  });
}
function shownSaved(text, any) {
  if (text === void 0) return any;
  const m = parseAddressMatch(text);
  return typeof m === "string" ? text : listedAddress(m);
}
function describeMismatch(rule, got, chain, any) {
  const iface = (i) => i ? (i.negated ? "!" : "") + i.name : "*";
  const differs = (what, want, have) => want === have ? "" : `matches ${what} ${have} but the config says ${want}`;
  return differs("source", shownNetwork(rule.from, any), shownSaved(got.source, any)) || differs("destination", shownNetwork(rule.to, any), shownSaved(got.destination, any)) || differs("input interface", iface(rule.in), got.in ?? "*") || differs("output interface", iface(rule.out), got.out ?? "*") || (got.target === `-j ${chain}` ? "" : `has target ${got.target ?? "none"} but the config's chain is ${chain}`) || (got.other.length === 0 ? "" : `also matches ${got.other.join(" ")}, which netmon's rules never do`);
}
export {
  COMMENT_PREFIX,
  IptablesSource,
  meterComment,
  ruleSpec
};
