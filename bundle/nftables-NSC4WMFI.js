import {
  CommandError
} from "./chunk-MGT2JSFC.js";
import {
  parseExactJson
} from "./chunk-OGMONECO.js";
import {
  allColumns,
  meterRules
} from "./chunk-TKJPBJ7E.js";
import {
  DataError,
  EX,
  NetmonError
} from "./chunk-F6H2ZAXR.js";

// lib/sources/nftables.ts
var PREFIX = "netmon:";
var PRIORITY = -1;
var TWO64 = 1n << 64n;
function parseNftTable(text, family, table, where = "nft -j") {
  let doc;
  try {
    doc = parseExactJson(text);
  } catch (err) {
    throw new DataError(`${where}: not JSON: ${err instanceof Error ? err.message : err}`);
  }
  const items = doc?.nftables;
  if (!Array.isArray(items)) throw new DataError(`${where}: expected {"nftables": [...]}`);
  const out = {
    counters: /* @__PURE__ */ new Map(),
    chains: /* @__PURE__ */ new Map(),
    rules: []
  };
  const unsigned = (v, what) => {
    if (typeof v !== "bigint") throw new DataError(`${where}: ${what} is not a whole number`);
    return v < 0n ? v + TWO64 : v;
  };
  for (const item of items) {
    const [kind, body] = Object.entries(item)[0] ?? [];
    const o = body;
    if (!o || o.family !== family || o.table !== table) continue;
    if (kind === "counter" && typeof o.name === "string") {
      out.counters.set(o.name, {
        packets: unsigned(o.packets, `counter ${o.name} packets`),
        bytes: unsigned(o.bytes, `counter ${o.name} bytes`)
      });
    } else if (kind === "chain" && typeof o.name === "string") {
      out.chains.set(o.name, {
        hook: typeof o.hook === "string" ? o.hook : "",
        prio: o.prio
      });
    } else if (kind === "rule" && typeof o.chain === "string") {
      const rule = {
        chain: o.chain,
        comment: typeof o.comment === "string" ? o.comment : ""
      };
      for (const e of Array.isArray(o.expr) ? o.expr : []) {
        if (typeof e.counter === "string") rule.counter = e.counter;
      }
      out.rules.push(rule);
    }
  }
  return out;
}
var HOOK_CHAIN = {
  INPUT: "input",
  OUTPUT: "output",
  FORWARD: "forward"
};
function addressValue(cidrs) {
  const one = (cidr) => {
    const [addr, len] = cidr.split("/");
    return len === (addr.includes(":") ? "128" : "32") ? addr : {
      prefix: {
        addr,
        len: Number(len)
      }
    };
  };
  return cidrs.length === 1 ? one(cidrs[0]) : {
    set: cidrs.map(one)
  };
}
function ifaceMatch(key, m) {
  const name = m.name.endsWith("+") ? `${m.name.slice(0, -1)}*` : m.name;
  return {
    match: {
      op: m.negated ? "!=" : "==",
      left: {
        meta: {
          key
        }
      },
      right: name
    }
  };
}
function ruleExpr(r) {
  const expr = [];
  const proto = r.family === 4 ? "ip" : "ip6";
  if (!r.from && !r.to) {
    expr.push({
      match: {
        op: "==",
        left: {
          meta: {
            key: "nfproto"
          }
        },
        right: r.family === 4 ? "ipv4" : "ipv6"
      }
    });
  }
  for (const [field, m] of [
    [
      "saddr",
      r.from
    ],
    [
      "daddr",
      r.to
    ]
  ]) {
    if (!m) continue;
    expr.push({
      match: {
        op: m.negated ? "!=" : "==",
        left: {
          payload: {
            protocol: proto,
            field
          }
        },
        right: addressValue(m.cidrs)
      }
    });
  }
  if (r.in) expr.push(ifaceMatch("iifname", r.in));
  if (r.out) expr.push(ifaceMatch("oifname", r.out));
  expr.push({
    counter: r.column
  });
  return expr;
}
function fingerprint(text) {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 16777619) >>> 0;
  }
  return h.toString(16).padStart(8, "0");
}
var NftablesSource = class {
  config;
  run;
  name;
  warnings;
  wanted;
  columns;
  constructor(config, run) {
    this.config = config;
    this.run = run;
    this.name = "nftables";
    this.warnings = [];
    this.columns = allColumns(config.meters).map((c) => c.name);
    this.wanted = config.meters.flatMap((m) => meterRules(m, false)).map((rule) => {
      const expr = ruleExpr(rule);
      const chain = HOOK_CHAIN[rule.hook];
      return {
        rule,
        chain,
        expr,
        comment: `${PREFIX}${rule.column} ${fingerprint(chain + JSON.stringify(expr))}`
      };
    });
  }
  get table() {
    return {
      family: "inet",
      name: this.config.table
    };
  }
  describe() {
    return `table inet ${this.config.table}`;
  }
  /** The installed table, or undefined when there is none. */
  async installed() {
    let stdout;
    try {
      ({ stdout } = await this.run(this.config.binaries.nft, [
        "-j",
        "list",
        "table",
        "inet",
        this.config.table
      ]));
    } catch (err) {
      if (err instanceof CommandError && /No such file or directory/.test(err.stderr)) return void 0;
      throw err;
    }
    const t = parseNftTable(stdout, "inet", this.config.table, `${this.config.binaries.nft} -j list table`);
    const foreign = t.rules.find((r) => !r.comment.startsWith(PREFIX));
    const hookChains = new Set(Object.values(HOOK_CHAIN));
    const strange = [
      ...t.chains.keys()
    ].find((c) => !hookChains.has(c));
    if (foreign || strange) {
      throw new NetmonError(`${this.describe()} holds ${foreign ? `a rule netmon did not make (in chain ${foreign.chain})` : `a chain netmon did not make (${strange})`}: it is not netmon's; set table = "..." in the config to another name`, EX.CONFIG);
    }
    return t;
  }
  command(ops) {
    const body = ops.map((o) => `  ${JSON.stringify(o)}`).join(",\n");
    return {
      path: this.config.binaries.nft,
      args: [
        "-j",
        "-f",
        "-"
      ],
      stdin: `{"nftables": [
${body}
]}
`
    };
  }
  /**
   * Brings the table to the config in one transaction: counters are kept
   * (with their values) or added, chains flushed and refilled, stale
   * counters and chains deleted. Nothing changes when all is current.
   */
  async planStart() {
    const t = await this.installed();
    const chains = [
      ...new Set(this.wanted.map((w) => w.chain))
    ];
    const current = t !== void 0 && this.columns.every((c) => t.counters.has(c)) && t.counters.size === this.columns.length && chains.every((c) => t.chains.get(c)?.hook === c && t.chains.get(c)?.prio === BigInt(PRIORITY)) && t.chains.size === chains.length && sameRules(t.rules, this.wanted);
    if (current) {
      return {
        notes: [
          `all ${this.wanted.length} of the meters' rules are installed in ${this.describe()}: nothing to change`
        ],
        commands: []
      };
    }
    const notes = [];
    const ops = [
      {
        add: {
          table: this.table
        }
      }
    ];
    if (!t) notes.push(`create ${this.describe()}`);
    const base = {
      family: "inet",
      table: this.config.table
    };
    for (const c of this.columns) {
      ops.push({
        add: {
          counter: {
            ...base,
            name: c
          }
        }
      });
      if (!t?.counters.has(c)) notes.push(`add counter ${c}`);
    }
    const kept = this.columns.filter((c) => t?.counters.has(c)).length;
    for (const [name, info] of t?.chains ?? []) {
      const keep = chains.includes(name) && info.hook === name && info.prio === BigInt(PRIORITY);
      ops.push({
        flush: {
          chain: {
            ...base,
            name
          }
        }
      });
      if (!keep) {
        ops.push({
          delete: {
            chain: {
              ...base,
              name
            }
          }
        });
        if (!chains.includes(name)) notes.push(`delete chain ${name}`);
      }
    }
    for (const name of chains) {
      ops.push({
        add: {
          chain: {
            ...base,
            name,
            type: "filter",
            hook: name,
            prio: PRIORITY,
            policy: "accept"
          }
        }
      });
    }
    for (const w of this.wanted) {
      ops.push({
        add: {
          rule: {
            ...base,
            chain: w.chain,
            comment: w.comment,
            expr: w.expr
          }
        }
      });
    }
    notes.push(`write ${this.wanted.length} rule${this.wanted.length === 1 ? "" : "s"} in chain${chains.length === 1 ? "" : "s"} ${chains.join(", ")}`);
    for (const name of t?.counters.keys() ?? []) {
      if (this.columns.includes(name)) continue;
      ops.push({
        delete: {
          counter: {
            ...base,
            name
          }
        }
      });
      notes.push(`delete counter ${name} (no meter uses it)`);
    }
    if (kept > 0) notes.push(`keep ${kept} counter${kept === 1 ? "" : "s"} and their values`);
    return {
      notes,
      commands: [
        this.command(ops)
      ]
    };
  }
  async planStop() {
    const t = await this.installed();
    if (!t) return {
      notes: [
        `${this.describe()} is not installed: nothing to change`
      ],
      commands: []
    };
    return {
      notes: [
        `delete ${this.describe()} with its ${t.counters.size} counter(s) and ${t.rules.length} rule(s)`
      ],
      commands: [
        this.command([
          {
            delete: {
              table: this.table
            }
          }
        ])
      ]
    };
  }
  /** Reads the table; complains when a column's counter or any of its rules is missing. */
  async current(strict) {
    const t = await this.installed();
    const missing = /* @__PURE__ */ new Set();
    const have = new Set(t?.rules.map((r) => `${r.chain} ${r.comment}`));
    for (const w of this.wanted) {
      if (!t?.counters.has(w.rule.column) || !have.has(`${w.chain} ${w.comment}`)) missing.add(w.rule.column);
    }
    if (strict && missing.size > 0) {
      throw new NetmonError(t ? `${this.describe()} lacks the counter or rules of meter${missing.size === 1 ? "" : "s"} ${[
        ...missing
      ].join(", ")}: run 'netmon start'` : `${this.describe()} is not installed: run 'netmon start'`, EX.UNAVAILABLE);
    }
    return {
      t,
      missing
    };
  }
  async read() {
    const { t } = await this.current(true);
    const bytes = /* @__PURE__ */ new Map();
    const packets = /* @__PURE__ */ new Map();
    for (const c of this.columns) {
      const v = t?.counters.get(c);
      bytes.set(c, v.bytes);
      packets.set(c, v.packets);
    }
    return {
      bytes,
      packets
    };
  }
  async status() {
    const { t, missing } = await this.current(false);
    return this.columns.map((c) => {
      const hooks = [
        ...new Set(this.wanted.filter((w) => w.rule.column === c).map((w) => w.chain))
      ];
      const row = {
        meter: c,
        where: `inet ${this.config.table} ${hooks.join("+")}`,
        installed: !missing.has(c)
      };
      const v = t?.counters.get(c);
      if (v) {
        row.packets = v.packets;
        row.bytes = v.bytes;
      }
      return row;
    });
  }
};
function sameRules(installed, wanted) {
  if (installed.length !== wanted.length) return false;
  const count = /* @__PURE__ */ new Map();
  for (const r of installed) count.set(`${r.chain} ${r.comment}`, (count.get(`${r.chain} ${r.comment}`) ?? 0) + 1);
  for (const w of wanted) {
    const k = `${w.chain} ${w.comment}`;
    const n = count.get(k) ?? 0;
    if (n === 0) return false;
    count.set(k, n - 1);
  }
  return true;
}
export {
  NftablesSource,
  parseNftTable
};
