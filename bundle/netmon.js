#!/usr/bin/env -S deno run -q -P=netmon-admin
import {
  overlappingNetworks,
  parseAddressMatch
} from "./chunk-PLIP7BKU.js";
import {
  runCommand
} from "./chunk-MGT2JSFC.js";
import {
  formatReport,
  humanReadable
} from "./chunk-T7UGWWQE.js";
import {
  selectSource
} from "./chunk-WDBI43AY.js";
import {
  HOOKS,
  allColumns,
  meterHooks
} from "./chunk-TKJPBJ7E.js";
import {
  ensureStateDir,
  formatTimestamp,
  recordSample,
  resolveStateDir,
  stateFiles,
  withLock
} from "./chunk-P4776DEG.js";
import {
  ConfigError,
  EX,
  NetmonError,
  UsageError,
  denoPermissionError,
  fileError
} from "./chunk-F6H2ZAXR.js";

// lib/args.ts
function parseCommandArgs(args, specs) {
  const values = {};
  const positionals = [];
  const set = (spec, value) => {
    if (spec.multiple && typeof value === "string") {
      const list2 = values[spec.name];
      values[spec.name] = Array.isArray(list2) ? [
        ...list2,
        value
      ] : [
        value
      ];
    } else values[spec.name] = value;
  };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--") {
      positionals.push(...args.slice(i + 1));
      break;
    }
    if (arg.startsWith("--")) {
      const eq = arg.indexOf("=");
      const name = arg.slice(2, eq < 0 ? void 0 : eq);
      const spec = specs.find((s) => s.name === name);
      if (!spec) throw new UsageError(`unknown option --${name}`);
      if (spec.type === "boolean") {
        if (eq >= 0) throw new UsageError(`option --${name} takes no value`);
        set(spec, true);
      } else if (eq >= 0) set(spec, arg.slice(eq + 1));
      else {
        const value = args[i + 1];
        if (value === void 0 || value.startsWith("-") && value !== "-") {
          throw new UsageError(`option --${name} needs a value`);
        }
        set(spec, value);
        i++;
      }
      continue;
    }
    if (arg.startsWith("-") && arg.length > 1) {
      for (let k = 1; k < arg.length; k++) {
        const spec = specs.find((s) => s.short === arg[k]);
        if (!spec) throw new UsageError(`unknown option -${arg[k]}`);
        if (spec.type === "boolean") {
          set(spec, true);
          continue;
        }
        const rest = arg.slice(k + 1);
        const value = rest !== "" ? rest : args[i + 1];
        if (value === void 0 || rest === "" && value.startsWith("-") && value !== "-") {
          throw new UsageError(`option --${spec.name} needs a value`);
        }
        if (rest === "") i++;
        set(spec, value);
        break;
      }
      continue;
    }
    positionals.push(arg);
  }
  return {
    values,
    positionals
  };
}

// lib/paths.ts
var SAFE = /^\/[A-Za-z0-9._+@%=,:~/ -]*$/;
function pathProblem(path) {
  if (!path.startsWith("/")) return "must be an absolute path (cron's PATH and directory are not yours)";
  if (path.split("/").includes("..")) return "must not contain a .. component";
  if (!SAFE.test(path)) return "may hold only letters, digits, space and . _ + @ % = , : ~ / -";
  return void 0;
}

// lib/mail_config.ts
var DEFAULT_SUBJECT = "Network Usage Report - %s";
var MAIL_KEYS = [
  "to",
  "from",
  "transport",
  "server",
  "port",
  "security",
  "user",
  "password_file",
  "ca_file",
  "subject",
  "attach",
  "sendmail",
  "helo",
  "timeout"
];
var EMAIL = /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
var HOST = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
function isHost(text) {
  if (HOST.test(text)) return true;
  const m = text.includes("/") ? "no CIDR" : parseAddressMatch(text);
  return typeof m !== "string" && !m.negated && m.cidr.endsWith(m.family === 4 ? "/32" : "/128");
}
function parseMail(raw, bad, str, show2) {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    bad("mail", "must be a table ([mail])");
    return void 0;
  }
  const doc = raw;
  for (const key of Object.keys(doc)) {
    if (!MAIL_KEYS.includes(key)) bad(`mail.${key}`, `unknown key (known keys: ${MAIL_KEYS.join(", ")})`);
  }
  const list2 = (key) => {
    const v = doc[key];
    if (v === void 0) return void 0;
    const items = Array.isArray(v) ? v : [
      v
    ];
    const out2 = [];
    items.forEach((item, i) => {
      const s = str(Array.isArray(v) ? `mail.${key}[${i + 1}]` : `mail.${key}`, item);
      if (s !== void 0) out2.push(s);
    });
    return out2;
  };
  const address = (key, text) => {
    if (!EMAIL.test(text) || text.length > 254) {
      bad(key, `${show2(text)} is not a mail address like netmon@example.org`);
      return false;
    }
    return true;
  };
  const to = list2("to") ?? [];
  if (doc.to === void 0 || Array.isArray(doc.to) && doc.to.length === 0) {
    bad("mail.to", "is missing: name at least one recipient");
  }
  to.forEach((t, i) => address(Array.isArray(doc.to) ? `mail.to[${i + 1}]` : "mail.to", t));
  const from = str("mail.from", doc.from);
  if (from === void 0) {
    if (doc.from === void 0) bad("mail.from", "is missing: the sender address, e.g. netmon@example.org");
  } else address("mail.from", from);
  const transport = str("mail.transport", doc.transport) ?? "smtp";
  if (transport !== "smtp" && transport !== "sendmail") {
    bad("mail.transport", `${show2(transport)} must be "smtp" or "sendmail"`);
  }
  const server = str("mail.server", doc.server) ?? "localhost";
  if (!isHost(server)) bad("mail.server", `${show2(server)} is not a host name or IP address`);
  const securityText = str("mail.security", doc.security);
  let port = 25;
  if (doc.port !== void 0) {
    const p = doc.port;
    if (typeof p !== "number" || !Number.isInteger(p) || p < 1 || p > 65535) {
      bad("mail.port", `${show2(p)} must be a port number from 1 to 65535`);
    } else port = p;
  }
  let security;
  if (securityText === void 0) {
    security = port === 465 ? "tls" : [
      "localhost",
      "127.0.0.1",
      "::1"
    ].includes(server) ? "none" : "starttls";
  } else if (securityText === "none" || securityText === "starttls" || securityText === "tls") {
    security = securityText;
  } else {
    bad("mail.security", `${show2(securityText)} must be "none", "starttls" or "tls"`);
    security = "starttls";
  }
  if (doc.port === void 0) port = security === "tls" ? 465 : security === "starttls" ? 587 : 25;
  const mail = {
    to,
    from: from ?? "",
    transport: transport === "sendmail" ? "sendmail" : "smtp",
    server,
    port,
    security,
    subject: DEFAULT_SUBJECT,
    attach: [],
    sendmail: "/usr/sbin/sendmail",
    helo: from?.split("@")[1] ?? "localhost",
    timeout: 30
  };
  const user = str("mail.user", doc.user);
  if (user !== void 0) {
    if (user === "" || user.length > 256) bad("mail.user", "must be 1 to 256 characters");
    else mail.user = user;
  }
  for (const [key, field] of [
    [
      "password_file",
      "passwordFile"
    ],
    [
      "ca_file",
      "caFile"
    ],
    [
      "sendmail",
      "sendmail"
    ]
  ]) {
    const path = str(`mail.${key}`, doc[key]);
    if (path === void 0) continue;
    const problem = pathProblem(path);
    if (problem) bad(`mail.${key}`, `${show2(path)} ${problem}`);
    else mail[field] = path;
  }
  if (mail.passwordFile !== void 0 && mail.user === void 0) {
    bad("mail.password_file", "needs mail.user: the password is for SMTP AUTH as that user");
  }
  const subject = str("mail.subject", doc.subject);
  if (subject !== void 0) {
    if (subject.trim() === "" || subject.length > 200) bad("mail.subject", "must be 1 to 200 characters");
    else mail.subject = subject;
  }
  const attach = list2("attach") ?? [];
  attach.forEach((path, i) => {
    const problem = pathProblem(path);
    if (problem) bad(Array.isArray(doc.attach) ? `mail.attach[${i + 1}]` : "mail.attach", `${show2(path)} ${problem}`);
    else mail.attach.push(path);
  });
  const helo = str("mail.helo", doc.helo);
  if (helo !== void 0) {
    if (!HOST.test(helo)) bad("mail.helo", `${show2(helo)} is not a host name`);
    else mail.helo = helo;
  }
  if (doc.timeout !== void 0) {
    const t = doc.timeout;
    if (typeof t !== "number" || !Number.isInteger(t) || t < 1 || t > 600) {
      bad("mail.timeout", `${show2(t)} must be a whole number of seconds from 1 to 600`);
    } else mail.timeout = t;
  }
  if (mail.transport === "sendmail" && (doc.server !== void 0 || doc.user !== void 0)) {
    bad("mail.transport", `"sendmail" hands mail to the local MTA: server, port and user do not apply`);
  }
  return mail;
}

// lib/toml.ts
var TomlSyntaxError = class extends SyntaxError {
  /** Line of the error. */
  line;
  /** Column of the error. */
  column;
  constructor(reason, line, column) {
    super(reason);
    this.name = "TomlSyntaxError";
    this.line = line;
    this.column = column;
  }
};
var isBareKeyChar = (c) => c >= 97 && c <= 122 || c >= 65 && c <= 90 || c >= 48 && c <= 57 || c === 95 || c === 45;
var ESCAPES = {
  b: "\b",
  t: "	",
  n: "\n",
  f: "\f",
  r: "\r",
  '"': '"',
  "\\": "\\"
};
function parseToml(text) {
  let pos = 0;
  const root = {};
  let current = root;
  const defined = /* @__PURE__ */ new Set();
  const implicit = /* @__PURE__ */ new Set();
  const arrays = /* @__PURE__ */ new Set();
  const fail = (reason, at = pos) => {
    const before = text.slice(0, at);
    const line = before.split("\n").length;
    throw new TomlSyntaxError(reason, line, at - before.lastIndexOf("\n"));
  };
  const peek = () => text[pos] ?? "";
  const skipBlank = () => {
    let c = text.charCodeAt(pos);
    while (c === 32 || c === 9) c = text.charCodeAt(++pos);
  };
  const skipComment = () => {
    if (peek() !== "#") return;
    while (pos < text.length && peek() !== "\n") {
      const c = text.charCodeAt(pos);
      if (c < 32 && c !== 9 || c === 127) fail("control character in a comment");
      pos++;
    }
  };
  const endOfLine = () => {
    skipBlank();
    skipComment();
    if (peek() === "\r" && text[pos + 1] === "\n") pos++;
    if (pos < text.length && peek() !== "\n") fail(`expected the end of the line, found ${JSON.stringify(peek())}`);
    pos++;
  };
  const skipArraySpace = () => {
    for (; ; ) {
      skipBlank();
      skipComment();
      if (peek() === "\n") pos++;
      else if (peek() === "\r" && text[pos + 1] === "\n") pos += 2;
      else return;
    }
  };
  const basicString = () => {
    if (text.startsWith('"""', pos)) fail("multi-line strings are not supported in netmon's config");
    pos++;
    let out2 = "";
    for (; ; ) {
      const start = pos;
      let code = text.charCodeAt(pos);
      while (code > 31 && code !== 34 && code !== 92 && code !== 127) code = text.charCodeAt(++pos);
      if (pos > start) out2 += text.slice(start, pos);
      const c = peek();
      if (c === "") fail("unterminated string");
      if (c === '"') {
        pos++;
        return out2;
      }
      if (code < 32 && c !== "	" || code === 127) fail("control character in a string (write it as an escape)");
      if (c === "\\") {
        const e = text[pos + 1] ?? "";
        if (ESCAPES[e] !== void 0) {
          out2 += ESCAPES[e];
          pos += 2;
        } else if (e === "u" || e === "U") {
          const len = e === "u" ? 4 : 8;
          const hex = text.slice(pos + 2, pos + 2 + len);
          if (!new RegExp(`^[0-9A-Fa-f]{${len}}$`).test(hex)) fail("bad unicode escape");
          const cp = parseInt(hex, 16);
          if (cp > 1114111 || cp >= 55296 && cp <= 57343) fail("unicode escape is not a scalar value");
          out2 += String.fromCodePoint(cp);
          pos += 2 + len;
        } else fail(`unknown escape \\${e}`);
      } else {
        out2 += c;
        pos++;
      }
    }
  };
  const literalString = () => {
    if (text.startsWith("'''", pos)) fail("multi-line strings are not supported in netmon's config");
    const end = text.indexOf("'", pos + 1);
    const nl = text.indexOf("\n", pos + 1);
    if (end < 0 || nl >= 0 && nl < end) fail("unterminated string");
    const s = text.slice(pos + 1, end);
    if (/[\x00-\x08\x0a-\x1f\x7f]/.test(s)) fail("control character in a string");
    pos = end + 1;
    return s;
  };
  const key = () => {
    const parts = [];
    for (; ; ) {
      skipBlank();
      const c = peek();
      if (c === '"') parts.push(basicString());
      else if (c === "'") parts.push(literalString());
      else {
        const start = pos;
        while (isBareKeyChar(text.charCodeAt(pos))) pos++;
        if (pos === start) fail(c === "" || c === "\n" ? "expected a key" : `unexpected ${JSON.stringify(c)} in a key`);
        parts.push(text.slice(start, pos));
      }
      skipBlank();
      if (peek() !== ".") return parts;
      pos++;
    }
  };
  const value = () => {
    const c = peek();
    if (c === '"') return basicString();
    if (c === "'") return literalString();
    if (c === "[") {
      pos++;
      const list2 = [];
      for (; ; ) {
        skipArraySpace();
        if (peek() === "]") {
          pos++;
          return list2;
        }
        list2.push(value());
        skipArraySpace();
        if (peek() === ",") pos++;
        else if (peek() !== "]") fail("expected , or ] in an array");
      }
    }
    if (c === "{") fail("inline tables are not supported in netmon's config: use a [table]");
    const m = /^(?:true|false|[+-]?(?:inf|nan)|[+-]?\d[\d_]*(?:\.\d[\d_]*)?(?:[eE][+-]?\d[\d_]*)?|0x[0-9A-Fa-f_]+|0o[0-7_]+|0b[01_]+)(?=[\s,\]#]|$)/.exec(text.slice(pos, pos + 100));
    if (!m) {
      if (/^\d{4}-\d{2}-\d{2}/.test(text.slice(pos, pos + 10))) fail("dates are not supported in netmon's config");
      fail(c === "\n" || c === "" ? "expected a value" : `expected a value, found ${JSON.stringify(text.slice(pos).split(/\s/)[0])}`);
    }
    const word = m[0];
    pos += word.length;
    if (word === "true" || word === "false") return word === "true";
    if (/_(?![0-9A-Fa-f])|(?<![0-9A-Fa-f])_/.test(word.replace(/^0[xob]/, ""))) {
      fail("misplaced underscore in a number");
    }
    const clean = word.replace(/_/g, "");
    if (/^[+-]?(inf|nan)$/.test(clean)) {
      return clean.endsWith("nan") ? NaN : clean.startsWith("-") ? -Infinity : Infinity;
    }
    if (/^0[xob]/.test(clean)) return Number(clean);
    if (/^[+-]?0\d/.test(clean)) fail("leading zeros are not allowed in a number");
    const n = Number(clean);
    if (/^[+-]?\d+$/.test(clean) && !Number.isSafeInteger(n)) fail("integer is too large");
    return n;
  };
  const descend = (from, parts, at) => {
    let t = from;
    for (const p of parts) {
      const next = t[p];
      if (next === void 0) {
        const made = {};
        t[p] = made;
        implicit.add(made);
        t = made;
      } else if (Array.isArray(next) && arrays.has(next)) t = next[next.length - 1];
      else if (typeof next === "object" && next !== null && !Array.isArray(next)) t = next;
      else fail(`key ${JSON.stringify(p)} is already a value, not a table`, at);
    }
    return t;
  };
  while (pos < text.length) {
    skipBlank();
    const c = peek();
    if (c === "#" || c === "\n" || c === "\r") {
      endOfLine();
      continue;
    }
    const at = pos;
    if (c === "[") {
      const isArray = text[pos + 1] === "[";
      pos += isArray ? 2 : 1;
      const parts2 = key();
      if (!text.startsWith(isArray ? "]]" : "]", pos)) fail(`expected ${isArray ? "]]" : "]"} to close the header`);
      pos += isArray ? 2 : 1;
      const parent = descend(root, parts2.slice(0, -1), at);
      const name2 = parts2[parts2.length - 1];
      const existing = parent[name2];
      if (isArray) {
        if (existing === void 0) {
          const list2 = [];
          parent[name2] = list2;
          arrays.add(list2);
        } else if (!(Array.isArray(existing) && arrays.has(existing))) {
          fail(`${parts2.join(".")} is already defined`, at);
        }
        const t = {};
        parent[name2].push(t);
        defined.add(t);
        current = t;
      } else {
        if (existing === void 0) {
          const t = {};
          parent[name2] = t;
          current = t;
        } else if (typeof existing === "object" && existing !== null && !Array.isArray(existing) && implicit.has(existing) && !defined.has(existing)) {
          current = existing;
          implicit.delete(current);
        } else fail(`table [${parts2.join(".")}] is already defined`, at);
        defined.add(current);
      }
      endOfLine();
      continue;
    }
    const parts = key();
    if (peek() !== "=") fail("expected = after the key");
    pos++;
    skipBlank();
    const target = descend(current, parts.slice(0, -1), at);
    const name = parts[parts.length - 1];
    if (Object.hasOwn(target, name)) fail(`key ${JSON.stringify(parts.join("."))} is defined twice`, at);
    target[name] = value();
    endOfLine();
  }
  return root;
}

// lib/config.ts
var SOURCES = [
  "iptables",
  "interface",
  "nftables",
  "pf"
];
var DEFAULT_BINARIES = {
  iptables: "/usr/sbin/iptables",
  iptablesSave: "/usr/sbin/iptables-save",
  iptablesRestore: "/usr/sbin/iptables-restore",
  ip6tables: "/usr/sbin/ip6tables",
  ip6tablesSave: "/usr/sbin/ip6tables-save",
  ip6tablesRestore: "/usr/sbin/ip6tables-restore",
  nft: "/usr/sbin/nft",
  pfctl: "/sbin/pfctl",
  ip: "/usr/sbin/ip",
  gnuplot: "/usr/bin/gnuplot"
};
var DEFAULT_CONFIG_PATH = "/etc/netmon/netmon.toml";
var ORIGINAL_LABELS = {
  proxy: "Proxied",
  "non-network": "Off Network"
};
function defaultConfig() {
  return {
    source: "interface",
    chain: "DOWNLOADED",
    wait: 10,
    binaries: {
      ...DEFAULT_BINARIES
    },
    meters: [],
    table: "netmon",
    pfZero: false
  };
}
var METER_NAME = /^[A-Za-z0-9][A-Za-z0-9_.@+-]{0,63}$/;
var CHAIN_NAME = /^[A-Za-z][A-Za-z0-9_-]{0,27}$/;
var IFACE = /^[A-Za-z0-9_.@-]{1,15}\+?$|^\+$/;
var RESERVED_CHAINS = /* @__PURE__ */ new Set([
  ...HOOKS,
  "PREROUTING",
  "POSTROUTING",
  "ACCEPT",
  "DROP",
  "REJECT",
  "RETURN",
  "QUEUE",
  "LOG"
]);
var BINARY_KEYS = {
  iptables: "iptables",
  iptables_save: "iptablesSave",
  iptables_restore: "iptablesRestore",
  ip6tables: "ip6tables",
  ip6tables_save: "ip6tablesSave",
  ip6tables_restore: "ip6tablesRestore",
  nft: "nft",
  pfctl: "pfctl",
  ip: "ip",
  gnuplot: "gnuplot"
};
var TOP_KEYS = [
  "source",
  "chain",
  "table",
  "state_dir",
  "wait",
  "pf_zero",
  "store",
  "binaries",
  "interfaces",
  "meter",
  "mail"
];
var METER_KEYS = [
  "name",
  "label",
  "hook",
  "from",
  "to",
  "address",
  "direction",
  "in",
  "out",
  "family",
  "split"
];
var FIREWALLS = [
  "iptables",
  "nftables",
  "pf"
];
var keyName = (k) => typeof k === "string" ? k : k();
function show(value) {
  return JSON.stringify(value) ?? String(value);
}
function checkInterface(text) {
  const negated = text.startsWith("!");
  const name = negated ? text.slice(1) : text;
  if (!IFACE.test(name) || name === "." || name === "..") {
    return "is not an interface name (1 to 15 of A-Z a-z 0-9 _ . @ -, optionally ending in +)";
  }
  return {
    negated,
    name
  };
}
function parseConfig(text, file) {
  let doc;
  try {
    doc = parseToml(text);
  } catch (err2) {
    if (err2 instanceof TomlSyntaxError) {
      throw new ConfigError(`${file}:${err2.line}:${err2.column}: invalid TOML: ${err2.message}`);
    }
    throw err2;
  }
  const problems = [];
  const bad = (key, what) => problems.push(`${file}: ${key}: ${what}`);
  const config = defaultConfig();
  config.file = file;
  for (const key of Object.keys(doc)) {
    if (!TOP_KEYS.includes(key)) bad(key, `unknown key (known keys: ${TOP_KEYS.join(", ")})`);
  }
  const str = (keyOf, value) => {
    if (value === void 0) return void 0;
    if (typeof value !== "string") {
      bad(keyName(keyOf), `must be a string, not ${show(value)}`);
      return void 0;
    }
    if (/[\0-\x1f\x7f]/.test(value)) {
      bad(keyName(keyOf), `${show(value)} contains a control character (newline, tab, NUL\u2026)`);
      return void 0;
    }
    return value;
  };
  const source = str("source", doc.source);
  if (source !== void 0) {
    if (SOURCES.includes(source)) config.source = source;
    else bad("source", `${show(source)} is not a known source (${SOURCES.join(", ")})`);
  } else if (doc.meter !== void 0) {
    config.source = "iptables";
  }
  const chain = str("chain", doc.chain);
  if (chain !== void 0) {
    if (!CHAIN_NAME.test(chain) || RESERVED_CHAINS.has(chain.toUpperCase())) {
      bad("chain", `${show(chain)} is not a usable chain name (a letter then up to 27 of A-Z a-z 0-9 _ -, not a built-in)`);
    } else config.chain = chain;
  }
  const stateDir = str("state_dir", doc.state_dir);
  if (stateDir !== void 0) {
    const problem = pathProblem(stateDir);
    if (problem) bad("state_dir", `${show(stateDir)} ${problem}`);
    else config.stateDir = stateDir;
  }
  if (doc.wait !== void 0) {
    const w = doc.wait;
    if (typeof w !== "number" || !Number.isInteger(w) || w < 0 || w > 3600) {
      bad("wait", `${show(w)} must be a whole number of seconds from 0 to 3600`);
    } else config.wait = w;
  }
  const table2 = str("table", doc.table);
  if (table2 !== void 0) {
    if (!CHAIN_NAME.test(table2)) {
      bad("table", `${show(table2)} is not a usable nftables table name (a letter then up to 27 of A-Z a-z 0-9 _ -)`);
    } else config.table = table2;
    if (config.source !== "nftables") bad("table", `only applies to source = "nftables"`);
  }
  if (doc.pf_zero !== void 0) {
    if (typeof doc.pf_zero !== "boolean") bad("pf_zero", `must be true or false, not ${show(doc.pf_zero)}`);
    else config.pfZero = doc.pf_zero;
    if (config.source !== "pf") bad("pf_zero", `only applies to source = "pf"`);
  }
  const store = str("store", doc.store);
  if (store !== void 0) {
    const path = store.startsWith("sqlite:") ? store.slice(7) : void 0;
    const problem = path === void 0 || path === "" || path.endsWith("/") ? "is not a file" : pathProblem(path.startsWith("/") ? path : `/${path}`);
    if (problem) {
      bad("store", `${show(store)} must be "sqlite:FILE" (FILE absolute, or relative to the state directory): ${problem}`);
    } else config.sqlite = path;
  }
  if (doc.binaries !== void 0) {
    if (typeof doc.binaries !== "object" || doc.binaries === null || Array.isArray(doc.binaries)) {
      bad("binaries", "must be a table ([binaries])");
    } else {
      for (const [key, value] of Object.entries(doc.binaries)) {
        const field = BINARY_KEYS[key];
        if (!field) {
          bad(`binaries.${key}`, `unknown key (known keys: ${Object.keys(BINARY_KEYS).join(", ")})`);
          continue;
        }
        const path = str(`binaries.${key}`, value);
        if (path === void 0) continue;
        const problem = pathProblem(path);
        if (problem) bad(`binaries.${key}`, `${show(path)} ${problem}`);
        else config.binaries[field] = path;
      }
    }
  }
  if (doc.mail !== void 0) {
    const mail = parseMail(doc.mail, bad, str, show);
    if (mail) config.mail = mail;
  }
  if (doc.interfaces !== void 0) {
    if (!Array.isArray(doc.interfaces)) bad("interfaces", "must be an array of interface names");
    else {
      const names = [];
      doc.interfaces.forEach((v, i) => {
        const name = str(`interfaces[${i + 1}]`, v);
        if (name === void 0) return;
        const m = checkInterface(name);
        if (typeof m === "string" || m.negated || m.name.endsWith("+")) {
          bad(`interfaces[${i + 1}]`, `${show(name)} is not an interface name`);
        } else names.push(name);
      });
      config.interfaces = names;
    }
    if (config.source !== "interface") bad("interfaces", `only applies to source = "interface"`);
  }
  if (doc.meter !== void 0) {
    if (!Array.isArray(doc.meter)) bad("meter", "must be an array of tables ([[meter]])");
    else {
      const seen = /* @__PURE__ */ new Map();
      doc.meter.forEach((raw, i) => {
        const at = `meter[${i + 1}]`;
        if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
          bad(at, "must be a table ([[meter]])");
          return;
        }
        const m = parseMeter(raw, at, config.source, bad, str);
        if (!m) return;
        const first = seen.get(m.name.toLowerCase());
        if (first !== void 0) bad(`${at}.name`, `${show(m.name)} is already the name of meter[${first}]`);
        else seen.set(m.name.toLowerCase(), i + 1);
        config.meters.push(m);
      });
      checkColumns(config, bad);
    }
    if (config.source === "interface") bad("meter", `meters need a firewall source (${FIREWALLS.join(", ")})`);
  }
  if (FIREWALLS.includes(config.source) && config.meters.length === 0 && problems.length === 0) {
    bad("meter", `source = ${show(config.source)} needs at least one [[meter]] with a name and a match`);
  }
  if (problems.length > 0) throw new ConfigError(problems.join("\n"));
  return config;
}
function checkColumns(config, bad) {
  if (!config.meters.some((m) => m.split.direction || m.split.family) && config.source !== "pf") return;
  const owner = /* @__PURE__ */ new Map();
  for (const m of config.meters) {
    for (const c of allColumns([
      m
    ])) {
      const key = c.name.toLowerCase();
      const other = owner.get(key);
      if (other !== void 0 && other !== m.name) {
        bad(`meter ${m.name}`, `its column ${show(c.name)} is also a column of meter ${show(other)}: rename one`);
      }
      owner.set(key, m.name);
      if (config.source === "pf" && c.name.length > 63) {
        bad(`meter ${m.name}`, `its pf label ${show(c.name)} is longer than pf's 63 characters`);
      }
    }
  }
}
function list(keyOf, value, bad, str) {
  if (value === void 0) return void 0;
  if (Array.isArray(value)) {
    if (value.length === 0) {
      bad(keyOf, "is an empty list: leave the key out instead");
      return void 0;
    }
    const items = value.map((v, i) => str(`${keyOf}[${i + 1}]`, v));
    return items.every((v) => v !== void 0) ? items : void 0;
  }
  const one = str(keyOf, value);
  return one === void 0 ? void 0 : [
    one
  ];
}
function parseAddressList(keyOf, value, source, bad, str) {
  const texts = list(keyOf, value, bad, str);
  if (!texts) return void 0;
  if (texts.length > 4096) {
    bad(keyOf, `has ${texts.length} networks; at most 4096 (use fewer, wider CIDRs)`);
    return void 0;
  }
  const out2 = {
    negated: false,
    v4: [],
    v6: []
  };
  let ok = true;
  texts.forEach((text, i) => {
    const m = parseAddressMatch(text);
    const where = texts.length > 1 || Array.isArray(value) ? `${keyOf}[${i + 1}]` : keyOf;
    if (typeof m === "string") {
      bad(where, `${show(text)} ${m}`);
      ok = false;
      return;
    }
    if (i === 0) out2.negated = m.negated;
    else if (m.negated !== out2.negated) {
      bad(keyOf, `mixes negated (!) and plain networks: a list is either "any of these" or "none of these"`);
      ok = false;
      return;
    }
    (m.family === 4 ? out2.v4 : out2.v6).push(m.cidr);
  });
  if (!ok) return void 0;
  for (const fam of [
    out2.v4,
    out2.v6
  ]) {
    const o = overlappingNetworks(fam);
    if (o) {
      bad(keyOf, `${o[0]} and ${o[1]} overlap: traffic in both would be counted twice; list each network once`);
      return void 0;
    }
    if (out2.negated && fam.length > 1 && source === "iptables") {
      bad(keyOf, `an iptables rule can exclude one network per family, not ${fam.length}: use one wider CIDR or source = "nftables"`);
      return void 0;
    }
  }
  return out2;
}
var FAMILY_WORDS = {
  ipv4: [
    4
  ],
  ipv6: [
    6
  ],
  both: [
    4,
    6
  ]
};
function parseMeter(raw, at, source, bad, str) {
  for (const key of Object.keys(raw)) {
    if (!METER_KEYS.includes(key)) bad(`${at}.${key}`, `unknown key (known keys: ${METER_KEYS.join(", ")})`);
  }
  const name = str(() => `${at}.name`, raw.name);
  if (name === void 0) {
    if (raw.name === void 0) bad(`${at}.name`, "is missing: every meter needs a name");
    return void 0;
  }
  if (!METER_NAME.test(name)) {
    bad(`${at}.name`, `${show(name)} is not a usable meter name (1 to 64 of A-Z a-z 0-9 _ . @ + -)`);
    return void 0;
  }
  const meter = {
    name,
    label: ORIGINAL_LABELS[name] ?? name,
    hooks: [],
    families: [],
    split: {
      direction: false,
      family: false
    }
  };
  const label = str(() => `${at}.label`, raw.label);
  if (label !== void 0) {
    if (label.trim() === "" || label.length > 64) bad(`${at}.label`, `${show(label)} must be 1 to 64 characters`);
    else meter.label = label;
  }
  const simple = raw.hook === void 0 || typeof raw.hook === "string";
  const hooks = simple ? raw.hook === void 0 ? [] : [
    str(() => `${at}.hook`, raw.hook)
  ] : list(`${at}.hook`, raw.hook, bad, str) ?? [];
  for (const hook of hooks) {
    if (hook === void 0) continue;
    const upper = hook.toUpperCase();
    if (!HOOKS.includes(upper)) {
      bad(`${at}.hook`, `${show(hook)} is not one of ${HOOKS.join(", ")}`);
    } else if (source === "pf" && upper === "FORWARD") {
      bad(`${at}.hook`, `pf has no FORWARD: a pf rule passes "in" (INPUT) or "out" (OUTPUT)`);
    } else if (!meter.hooks.includes(upper)) meter.hooks.push(upper);
  }
  for (const key of [
    "from",
    "to",
    "address"
  ]) {
    if (raw[key] === void 0) continue;
    const l = parseAddressList(`${at}.${key}`, raw[key], source, bad, str);
    if (l) meter[key] = l;
  }
  if (meter.address && (meter.from || meter.to)) {
    bad(`${at}.address`, "counts traffic to and from the address, so from and to do not go with it: use one or the other");
  }
  const direction = str(() => `${at}.direction`, raw.direction);
  if (direction !== void 0) {
    const dirs = {
      in: [
        "in"
      ],
      out: [
        "out"
      ],
      both: [
        "in",
        "out"
      ]
    };
    const d = dirs[direction.toLowerCase()];
    if (!d) bad(`${at}.direction`, `${show(direction)} is not one of in, out, both`);
    else if (meter.from || meter.to) {
      bad(`${at}.direction`, "goes with address (or nothing), not from and to, which already say which way");
    } else meter.directions = d;
  } else if (meter.address) meter.directions = [
    "in",
    "out"
  ];
  for (const key of [
    "in",
    "out"
  ]) {
    const text = str(() => `${at}.${key}`, raw[key]);
    if (text === void 0) continue;
    const m = checkInterface(text);
    if (typeof m === "string") bad(`${at}.${key}`, `${show(text)} ${m}`);
    else if (source === "pf" && m.name.endsWith("+")) {
      bad(`${at}.${key}`, `${show(text)}: pf has no + wildcard; name the interface or an interface group`);
    } else meter[key] = m;
  }
  const present = /* @__PURE__ */ new Set();
  for (const l of [
    meter.from,
    meter.to,
    meter.address
  ]) {
    if (l?.v4.length) present.add(4);
    if (l?.v6.length) present.add(6);
  }
  const familyText = str(() => `${at}.family`, raw.family);
  if (familyText !== void 0) {
    const f = FAMILY_WORDS[familyText.toLowerCase()];
    if (!f) bad(`${at}.family`, `${show(familyText)} is not one of ipv4, ipv6, both`);
    else meter.families = f;
  } else if (present.size > 0) meter.families = [
    ...present
  ].sort();
  else meter.families = source === "iptables" ? [
    4
  ] : [
    4,
    6
  ];
  for (const key of [
    "from",
    "to",
    "address"
  ]) {
    const l = meter[key];
    if (!l || l.negated) continue;
    for (const f of meter.families) {
      if ((f === 4 ? l.v4 : l.v6).length === 0) {
        bad(`${at}.${key}`, `has no IPv${f} network but the meter counts IPv${f}${familyText === void 0 ? " (another key has one)" : ""}: add one, or set family`);
      }
    }
  }
  const hooksUsed = new Set(meterHooks(meter));
  if (meter.in && !meter.in.negated && hooksUsed.size > 0 && [
    ...hooksUsed
  ].every((h) => h === "OUTPUT")) {
    bad(`${at}.in`, "an OUTPUT rule has no input interface");
  }
  if (meter.out && !meter.out.negated && hooksUsed.size > 0 && [
    ...hooksUsed
  ].every((h) => h === "INPUT")) {
    bad(`${at}.out`, "an INPUT rule has no output interface");
  }
  const splits = list(`${at}.split`, raw.split, bad, str) ?? [];
  for (const s of splits) {
    if (s === "direction") {
      if (!meter.directions) bad(`${at}.split`, `"direction" needs direction (or address)`);
      meter.split.direction = true;
    } else if (s === "family") meter.split.family = true;
    else bad(`${at}.split`, `${show(s)} is not one of direction, family`);
  }
  return meter;
}
function loadConfig(path) {
  let text;
  try {
    text = Deno.readTextFileSync(path);
  } catch (err2) {
    if (err2 instanceof Deno.errors.NotFound) {
      throw new ConfigError(`${path}: config file not found (check --config or NETMON_CONFIG)`);
    }
    throw fileError(err2, "read config file", path);
  }
  return parseConfig(text, path);
}

// lib/env.ts
function guarded(fn) {
  try {
    return fn();
  } catch (err2) {
    throw denoPermissionError(err2) ?? err2;
  }
}
function getEnv(name) {
  return guarded(() => Deno.env.get(name));
}
function getUid() {
  return guarded(() => Deno.uid());
}
function exists(path) {
  return guarded(() => {
    try {
      Deno.statSync(path);
      return true;
    } catch (err2) {
      if (err2 instanceof Deno.errors.NotFound) return false;
      throw err2;
    }
  });
}

// lib/cli.ts
var encoder = new TextEncoder();
function write(stream, text) {
  const data = encoder.encode(text);
  let done = 0;
  while (done < data.length) done += stream.writeSync(data.subarray(done));
}
var out = (text) => write(Deno.stdout, text);
var err = (text) => write(Deno.stderr, text);
function findConfig(flag) {
  const path = flag ?? getEnv("NETMON_CONFIG") ?? (exists(DEFAULT_CONFIG_PATH) ? DEFAULT_CONFIG_PATH : void 0);
  return path === void 0 || path === "" ? defaultConfig() : loadConfig(path);
}
function findStateDir(flag, config) {
  return resolveStateDir({
    flag,
    env: flag === void 0 ? getEnv("NETMON_STATE_DIR") : void 0,
    config: config.stateDir,
    uid: getUid,
    xdgStateHome: () => getEnv("XDG_STATE_HOME"),
    home: () => getEnv("HOME")
  });
}
async function reportFailure(prog, command, body) {
  try {
    return await body();
  } catch (e) {
    if (!(e instanceof NetmonError)) throw e;
    const hint = e instanceof UsageError ? ` (see '${command} --help')` : "";
    for (const line of e.message.split("\n")) err(`${prog}: ${line}${hint}
`);
    return e.exitCode;
  }
}

// netmon.ts
var VERSION = "0.1.0";
var COMMON = `  -c, --config FILE     config file (env NETMON_CONFIG; default ${DEFAULT_CONFIG_PATH} if present,
                        otherwise every non-loopback interface is metered)
  -s, --state-dir DIR   where netmon.log and netmon.last live (env NETMON_STATE_DIR; default
                        /var/lib/netmon for root, $XDG_STATE_HOME/netmon or ~/.local/state/netmon)
  -h, --help            this help
  -V, --version         print the version`;
var COMMAND_INFO = {
  report: {
    words: [
      "report"
    ],
    summary: "read the counters, append to the log, print usage (the default)",
    options: [
      "no-mail",
      "mail-test"
    ]
  },
  start: {
    words: [
      "start",
      "initiate",
      "initialise"
    ],
    hidden: [
      "initialize"
    ],
    summary: "install the meters' firewall rules (idempotent)",
    options: [
      "dry-run"
    ]
  },
  stop: {
    words: [
      "stop",
      "clear",
      "flush"
    ],
    summary: "remove netmon's firewall rules and chain",
    options: [
      "dry-run"
    ]
  },
  status: {
    words: [
      "status"
    ],
    summary: "show installed rules and their counters now, without logging",
    options: []
  },
  doctor: {
    words: [
      "doctor"
    ],
    summary: "check everything netmon depends on and say how to fix what is wrong",
    options: [
      "json"
    ]
  },
  "pf-conf": {
    words: [
      "pf-conf"
    ],
    summary: 'print the labelled pf.conf rules for the meters (source = "pf")',
    options: []
  },
  import: {
    words: [
      "import"
    ],
    summary: 'load a log into the SQLite store (store = "sqlite:FILE")',
    options: [],
    argument: {
      name: "LOG",
      complete: "file"
    }
  },
  completions: {
    words: [
      "completions"
    ],
    summary: "print shell completion for bash or zsh",
    options: [],
    argument: {
      name: "SHELL",
      complete: [
        "bash",
        "zsh"
      ]
    }
  },
  help: {
    words: [
      "help"
    ],
    summary: "help for a command",
    options: [],
    argument: {
      name: "COMMAND",
      complete: "commands"
    }
  }
};
var OPTIONS = [
  {
    name: "config",
    short: "c",
    type: "string",
    value: "file",
    help: "config file"
  },
  {
    name: "state-dir",
    short: "s",
    type: "string",
    value: "dir",
    help: "state directory"
  },
  {
    name: "dry-run",
    short: "n",
    type: "boolean",
    help: "print the exact firewall change, change nothing"
  },
  {
    name: "no-mail",
    type: "boolean",
    help: "do not mail this report"
  },
  {
    name: "mail-test",
    type: "boolean",
    help: "send a test message and print what the server said"
  },
  {
    name: "json",
    type: "boolean",
    help: "print the findings as JSON"
  },
  {
    name: "help",
    short: "h",
    type: "boolean",
    help: "help"
  },
  {
    name: "version",
    short: "V",
    type: "boolean",
    help: "print the version"
  }
];
var COMMON_OPTIONS = [
  "config",
  "state-dir",
  "help",
  "version"
];
function commandList() {
  const rows = Object.values(COMMAND_INFO).map((c) => [
    c.words.join(", ") + (c.argument ? ` [${c.argument.name}]` : ""),
    c.summary
  ]);
  const width = Math.max(...rows.map(([w]) => w.length)) + 2;
  return rows.map(([w, s]) => `  ${w.padEnd(width)}${s}`).join("\n");
}
var HELP = {
  main: `Usage: netmon [COMMAND] [OPTIONS]

Meters network traffic from firewall and kernel counters. Run 'report' from cron.

Commands (case-insensitive):
${commandList()}

Options:
${COMMON}

Exit status: 0 ok, 64 usage, 65 bad data, 69 unavailable, 73/74 cannot write,
75 try again later, 77 permission, 78 bad config (doctor: 1 when it finds a problem).`,
  report: `Usage: netmon [report] [--no-mail | --mail-test] [OPTIONS]

Reads every meter's counter with one command (per address family under
iptables), appends one line to netmon.log, replaces netmon.last, and prints
usage since the last run:
  Last Total - Timestamp: \u2026 <meter>: \u2026
  New Total - \u2026
  New Usage - \u2026
A counter that went down (rules reloaded, iptables -Z, reboot) is a reset for
that meter: its usage is its new value, and a fourth line says so.

With [mail] in the config the report is also mailed, as the original did. It
goes into the spool in the state directory with its sample, then the spool is
delivered oldest first; if the server is down or refuses for now, the report
stays spooled for the next run and netmon exits 75. A report refused for good
(a 5xx reply to the message) is moved aside as spool/*.refused, the later ones
are still sent, and netmon exits 69.

Options:
      --no-mail         do not mail this report (reports already spooled stay spooled)
      --mail-test       send a test message and print what the server said; records nothing
${COMMON}`,
  start: `Usage: netmon start [--dry-run] [OPTIONS]   (also: initiate, initialise)

Installs the meters' rules in one transaction per firewall. iptables: one rule
per meter, hook, family and network, tagged 'netmon:COLUMN', jumping to netmon's
chain, through iptables-restore (ip6tables-restore for IPv6). nftables: netmon's
inet table with a named counter per column, through one 'nft -j -f -'. Rules
already installed are kept with their counters; stale netmon rules are removed;
other rules and tables are never touched. pf: changes nothing (see pf-conf).

Options:
  -n, --dry-run         print the exact firewall change, change nothing
${COMMON}`,
  stop: `Usage: netmon stop [--dry-run] [OPTIONS]   (also: clear, flush)

Removes exactly netmon's rules (found by their comment) and its chain, in one
iptables-restore transaction per family, or deletes netmon's nftables table.
The log and last file are kept.

Options:
  -n, --dry-run         print the exact firewall change, change nothing
${COMMON}`,
  "pf-conf": `Usage: netmon pf-conf [OPTIONS]

Prints the pf.conf lines that count the configured meters: a table per list
of networks, and one 'pass' rule per direction and address family labelled
with its log column. On pf the ruleset is yours: add them at the end of the
filter rules in /etc/pf.conf and load it with 'pfctl -f /etc/pf.conf'.

Options:
${COMMON}`,
  import: `Usage: netmon import [LOG] [OPTIONS]

Loads every sample of LOG (default: the state directory's netmon.log) into the
SQLite store the config names (store = "sqlite:FILE"), in one transaction.
Rows already there are replaced, so importing twice changes nothing. Reports
keep the store up to date by themselves; this is for a store added later.

Options:
${COMMON}`,
  status: `Usage: netmon status [OPTIONS]

Shows each meter's rule (or interface) and its counters now. Logs nothing.

Options:
${COMMON}`,
  doctor: `Usage: netmon doctor [--json] [OPTIONS]

Checks, and says in plain words with the fix for each:
  config        the config loads
  binaries      the source's programs exist and run (their versions)
  backend       iptables: which backend it drives (nf_tables or legacy), and
                whether the other backend holds rules too
  rules         netmon's rules (or nftables table) are installed and match the config
  xtables-lock  iptables: whether /run/xtables.lock is held right now
  state-dir     the state directory is writable and not on tmpfs
  log           netmon.log and netmon.last parse
  schedule      cron (/etc/crontab, /etc/cron.d, user crontabs) or an enabled
                systemd timer runs the report, and the last sample is recent
  mail          with [mail], the server answers and accepts the login (nothing
                is sent), and no reports wait in the spool
Only reads: the firewall is listed, not changed. Run it as root, as netmon runs.
Exit status 0 when all is well, 1 when any check found a problem.

Options:
      --json            print the findings as JSON: {"ok": BOOL, "checks": [{"check",
                        "verdict": "ok"|"problem"|"skipped", "said", "fix"}]}
${COMMON}`,
  completions: `Usage: netmon completions bash|zsh

Prints a completion script for commands, options and their values.
  bash: netmon completions bash > /etc/bash_completion.d/netmon
  zsh:  netmon completions zsh > "\${fpath[1]}/_netmon"   (then restart zsh)

Options:
${COMMON}`
};
var COMMANDS = Object.fromEntries(Object.entries(COMMAND_INFO).flatMap(([name, c]) => [
  ...c.words,
  ...c.hidden ?? []
].map((w) => [
  w,
  name
])));
function parseCommandLine(args) {
  const { values, positionals } = parseCommandArgs(args, OPTIONS);
  const word = positionals[0]?.toLowerCase() ?? (values.help ? "help" : "report");
  const command = COMMANDS[word];
  if (!command) throw new UsageError(`unknown command ${JSON.stringify(positionals[0])}`);
  const info = COMMAND_INFO[command];
  const extra = positionals.slice(info.argument ? 2 : 1);
  if (extra.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(extra[0])}`);
  for (const name of Object.keys(values)) {
    if (COMMON_OPTIONS.includes(name) || info.options.includes(name)) continue;
    const takers = Object.entries(COMMAND_INFO).filter(([, c]) => c.options.includes(name)).map(([n]) => n);
    throw new UsageError(`--${name} only applies to ${takers.join(" and ")}`);
  }
  const opts = {
    command,
    dryRun: values["dry-run"] === true,
    noMail: values["no-mail"] === true,
    mailTest: values["mail-test"] === true,
    json: values.json === true,
    help: values.help === true,
    version: values.version === true
  };
  const argument = positionals[1];
  if (argument !== void 0) {
    if (command === "help") {
      const topic = COMMANDS[argument.toLowerCase()];
      if (!topic || topic === "help") throw new UsageError(`no help for ${JSON.stringify(argument)}`);
      opts.topic = topic;
    } else if (command === "completions" && ![
      "bash",
      "zsh"
    ].includes(argument)) {
      throw new UsageError(`no completion for shell ${JSON.stringify(argument)}: bash or zsh`);
    } else opts.topic = argument;
  }
  if (command === "completions" && argument === void 0 && !opts.help) {
    throw new UsageError("completions needs a shell: bash or zsh");
  }
  for (const [key, value] of [
    [
      "config",
      values.config
    ],
    [
      "stateDir",
      values["state-dir"]
    ]
  ]) {
    if (typeof value !== "string") continue;
    if (value === "" || value.startsWith("-")) {
      throw new UsageError(`--${key === "stateDir" ? "state-dir" : key} needs a path`);
    }
    opts[key] = value;
  }
  if (opts.noMail && opts.mailTest) throw new UsageError("--no-mail and --mail-test cannot be used together");
  return opts;
}
async function report(opts) {
  const config = findConfig(opts.config);
  const files = stateFiles(findStateDir(opts.stateDir, config));
  const mail = opts.noMail ? void 0 : config.mail;
  if (opts.mailTest) return await mailTest(config);
  const mailLib = mail ? await import("./mail-MGBT2ILY.js") : void 0;
  const source = await selectSource(config, runCommand);
  const labels = new Map(allColumns(config.meters).map((c) => [
    c.name,
    c.label
  ]));
  const storeLib = config.sqlite ? await import("./store-RJ5L5VMM.js") : void 0;
  let storeFailure;
  const metersOf = (sample) => [
    ...sample.counters.keys()
  ].map((name) => ({
    name,
    label: labels.get(name) ?? name
  }));
  const recorded = await recordSample(files, {
    readCounters: (previous) => source.read(previous),
    now: () => formatTimestamp(/* @__PURE__ */ new Date()),
    // The report's mail is spooled with its sample, under the same lock: a
    // crash after this cannot lose it.
    onRecorded: (mail || storeLib) && (async (r) => {
      if (mail && mailLib) {
        const { mailBody, reportMessage, spool, spoolDir } = mailLib;
        const body = mailBody(metersOf(r.sample), r.previous, r.sample, r.usage);
        spool(spoolDir(files.dir), reportMessage(mail, r.sample.timestamp, /* @__PURE__ */ new Date(), body));
      }
      if (storeLib) {
        let db;
        try {
          db = storeLib.SqliteStore.open(storePath(config, files));
          await storeLib.storeSample(db, files.log, r.previous?.sample, r.sample, r.intervalPackets);
        } catch (e) {
          storeFailure = e;
        } finally {
          db?.close();
        }
      }
    })
  });
  for (const w of [
    ...recorded.warnings,
    ...source.warnings
  ]) err(`netmon: warning: ${w}
`);
  out(formatReport(metersOf(recorded.sample), recorded.previous, recorded.sample, recorded.usage));
  if (mail) await deliver(mail, files);
  if (storeFailure) throw storeFailure;
  return EX.OK;
}
function storePath(config, files) {
  const path = config.sqlite;
  return path.startsWith("/") ? path : `${files.dir}/${path}`;
}
async function importCommand(opts) {
  const config = findConfig(opts.config);
  const files = stateFiles(findStateDir(opts.stateDir, config));
  if (!config.sqlite) {
    throw new NetmonError(`${config.file ?? "the default config"}: store: no SQLite store configured (add store = "sqlite:netmon.sqlite")`, EX.CONFIG);
  }
  const log = opts.topic ?? files.log;
  const { importLog, SqliteStore } = await import("./store-RJ5L5VMM.js");
  ensureStateDir(files);
  const path = storePath(config, files);
  const db = SqliteStore.open(path);
  try {
    const n = await withLock(files, 6e4, () => importLog(db, log));
    out(`imported ${n.samples} samples (${n.rows} rows) from ${log} into ${path}
`);
  } finally {
    db.close();
  }
  return EX.OK;
}
async function pfConfCommand(opts) {
  const config = findConfig(opts.config);
  if (config.source !== "pf") {
    throw new NetmonError(`pf-conf: the config's source is ${JSON.stringify(config.source)}; set source = "pf" and its meters`, EX.CONFIG);
  }
  const { pfConf } = await import("./pf-HEZ6OT6H.js");
  out(pfConf(config));
  return EX.OK;
}
async function deliver(mail, files) {
  const { deliverSpool, Mailer, smtpPassword, spoolDir } = await import("./mail-MGBT2ILY.js");
  const dir = spoolDir(files.dir);
  await withLock({
    ...files,
    lock: `${dir}.lock`
  }, 6e4, async () => {
    const mailer = await Mailer.open(mail, smtpPassword(mail, getEnv));
    try {
      await deliverSpool(dir, mailer);
    } finally {
      mailer.close();
      for (const w of mailer.warnings) err(`netmon: warning: ${w}
`);
    }
  });
}
async function mailTest(config) {
  const mail = config.mail;
  if (!mail) throw new NetmonError("--mail-test: the config has no [mail] section", EX.CONFIG);
  const { Mailer, reportMessage, smtpPassword } = await import("./mail-MGBT2ILY.js");
  const mailer = await Mailer.open(mail, smtpPassword(mail, getEnv));
  try {
    const now = /* @__PURE__ */ new Date();
    const stamp = formatTimestamp(now);
    const message = reportMessage(mail, stamp, now, `This is a test message from netmon, sent at ${stamp}.
`);
    message.subject = `netmon mail test - ${stamp}`;
    const said = await mailer.send(message, false);
    const where = mail.transport === "sendmail" ? mail.sendmail : `${mail.server}:${mail.port}`;
    out(`mail test: ${where} accepted the message for ${mail.to.join(", ")}: ${said}
`);
    return EX.OK;
  } finally {
    mailer.close();
  }
}
function describePlan(plan, dryRun) {
  let text = plan.notes.map((n) => `${dryRun && plan.commands.length > 0 ? "would " : ""}${n}
`).join("");
  if (dryRun) {
    for (const c of plan.commands) {
      text += `would run: ${[
        c.path,
        ...c.args
      ].join(" ")}
`;
      if (c.stdin !== void 0) text += `with input:
${c.stdin}`;
    }
    if (plan.commands.length > 0) text += "(dry run: nothing was changed)\n";
  }
  return text;
}
async function change(opts) {
  const config = findConfig(opts.config);
  const source = await selectSource(config, runCommand);
  const plan = opts.command === "start" ? await source.planStart() : await source.planStop();
  if (!opts.dryRun) {
    for (const c of plan.commands) await runCommand(c.path, c.args, c.stdin);
  }
  out(describePlan(plan, opts.dryRun));
}
function table(rows) {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length))) ?? [];
  return rows.map((r) => r.map((c, i) => i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0)).join("  ") + "\n").join("");
}
async function status(opts) {
  const config = findConfig(opts.config);
  const source = await selectSource(config, runCommand);
  const rows = await source.status();
  for (const w of source.warnings) err(`netmon: warning: ${w}
`);
  const where = config.source === "iptables" ? ` (chain ${config.chain})` : config.source === "nftables" ? ` (table inet ${config.table})` : "";
  let text = `source: ${config.source}${where}${config.file ? `, config ${config.file}` : ""}
`;
  text += table([
    [
      "meter",
      "where",
      "installed",
      "packets",
      "bytes"
    ],
    ...rows.map((r) => [
      r.meter,
      r.where,
      r.installed ? "yes" : "NO",
      r.packets === void 0 ? "-" : String(r.packets),
      r.bytes === void 0 ? "-" : `${r.bytes} (${humanReadable(r.bytes)})`
    ])
  ]);
  const missing = rows.filter((r) => !r.installed).length;
  if (missing > 0) text += `${missing} meter(s) have no rule: run 'netmon start'
`;
  out(text);
  return missing > 0 ? EX.UNAVAILABLE : EX.OK;
}
var DOCTOR_PROBLEM = 1;
async function doctor(opts) {
  const { diagnose, formatFindings } = await import("./doctor-3Q7Z66YL.js");
  let config;
  try {
    config = findConfig(opts.config);
  } catch (err2) {
    if (!(err2 instanceof NetmonError)) throw err2;
    config = err2;
  }
  const files = config instanceof NetmonError ? void 0 : stateFiles(findStateDir(opts.stateDir, config));
  const findings = await diagnose({
    config,
    ...files ? {
      files
    } : {},
    run: runCommand,
    now: /* @__PURE__ */ new Date(),
    verifyMail: async (c) => {
      const mail = c.mail;
      const { Mailer, smtpPassword } = await import("./mail-MGBT2ILY.js");
      const mailer = await Mailer.open(mail, smtpPassword(mail, getEnv));
      try {
        return await mailer.verify();
      } finally {
        mailer.close();
      }
    }
  });
  const healthy = findings.every((f) => f.verdict !== "problem");
  out(opts.json ? JSON.stringify({
    ok: healthy,
    checks: findings
  }, null, 2) + "\n" : formatFindings(findings));
  return healthy ? EX.OK : DOCTOR_PROBLEM;
}
async function completions(opts) {
  const { bashCompletion, zshCompletion } = await import("./completions-4VOGWYAU.js");
  const spec = {
    program: "netmon",
    commands: Object.values(COMMAND_INFO),
    common: COMMON_OPTIONS,
    options: OPTIONS
  };
  out(opts.topic === "zsh" ? zshCompletion(spec) : bashCompletion(spec));
  return EX.OK;
}
function main(args) {
  return reportFailure("netmon", "netmon", async () => {
    const opts = parseCommandLine(args);
    if (opts.version) {
      out(`netmon ${VERSION} (deno ${Deno.version.deno})
`);
      return EX.OK;
    }
    if (opts.help || opts.command === "help") {
      out(HELP[opts.topic ?? (opts.command === "help" ? "main" : opts.command)] + "\n");
      return EX.OK;
    }
    switch (opts.command) {
      case "report":
        return await report(opts);
      case "status":
        return await status(opts);
      case "pf-conf":
        return await pfConfCommand(opts);
      case "import":
        return await importCommand(opts);
      case "doctor":
        return await doctor(opts);
      case "completions":
        return await completions(opts);
      default:
        await change(opts);
        return EX.OK;
    }
  });
}
if (import.meta.main) Deno.exit(await main(Deno.args));
export {
  main,
  parseCommandLine
};
