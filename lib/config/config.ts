/**
 * netmon's configuration: TOML text in, a validated {@linkcode Config} out.
 * Every problem is reported as its own line naming the file and the key, and
 * every value that later reaches a firewall command is checked here first.
 *
 * @module
 */

import { type MailConfig, parseMail } from "./mail.ts";
import { overlappingNetworks, parseAddressMatch } from "./address.ts";
import { pathProblem } from "./paths.ts";
import { unknownKey } from "./suggest.ts";
import { checkCustomerOverlap, checkCustomerSums } from "./overlap.ts";
import {
  type AddressList,
  allColumns,
  type Direction,
  type Family,
  type Hook,
  HOOKS,
  type InterfaceMatch,
  type Meter,
  meterHooks,
} from "./meters.ts";
import { ConfigError, EX, NetmonError } from "../host/errors.ts";
import { type OpenSpec, readRest, SafeFile } from "../host/safe_open.ts";
import { CONFIG_FILE, infoOf, trustProblems } from "../host/dir_trust.ts";
import { getUid } from "../host/env.ts";
import {
  type Billing,
  customerColumns,
  CustomerMatchError,
  type CustomerSpec,
  parseBilling,
  parseCustomers,
} from "./customers.ts";
import { FLEET_KEYS, type FleetConfig, isPostgresStore, parseFleet } from "./fleet.ts";
import { parse as parseToml, TomlError } from "smol-toml";
import { reached } from "../host/phases.ts";

/** The counter sources netmon can read. */
export const SOURCES = ["iptables", "interface", "nftables", "pf"] as const;
/** A counter source. */
export type SourceName = typeof SOURCES[number];

/**
 * Whether `source` is a firewall whose rules `netmon start` installs (iptables, nftables): pf's rules are pf.conf's
 * (`netmon pf-conf`), the interface source has none.
 */
export function installsRules(source: SourceName): boolean {
  return source === "iptables" || source === "nftables";
}

export { HOOKS };
export type { Hook, InterfaceMatch, Meter };

/** Absolute paths of the programs netmon runs. */
export interface Binaries {
  /** `iptables`, for reading counters. */
  iptables: string;
  /** `iptables-save`, for finding netmon's rules. */
  iptablesSave: string;
  /** `iptables-restore`, for changing them in one transaction. */
  iptablesRestore: string;
  /** `ip6tables`, for reading IPv6 counters. */
  ip6tables: string;
  /** `ip6tables-save`. */
  ip6tablesSave: string;
  /** `ip6tables-restore`. */
  ip6tablesRestore: string;
  /** `nft`, for the nftables source. */
  nft: string;
  /** `pfctl`, for the pf source. */
  pfctl: string;
  /** `ip` from iproute2, for interface counters. */
  ip: string;
  /** `gnuplot`, for graph.ts --plot. */
  gnuplot: string;
}

/** A validated configuration. */
export interface Config {
  /** The file it was read from; undefined for the built-in default. */
  file?: string;
  /** Where counters come from. */
  source: SourceName;
  /** The chain netmon's rules jump to. */
  chain: string;
  /** State directory from the config, if set. */
  stateDir?: string;
  /** Seconds to wait for the xtables lock. */
  wait: number;
  /** Programs run, by absolute path. */
  binaries: Binaries;
  /** Meters of a firewall source, in config order. */
  meters: Meter[];
  /** Interfaces the interface source meters; all but loopback when absent. */
  interfaces?: string[];
  /** Where reports are mailed, if anywhere. */
  mail?: MailConfig;
  /** nftables: the name of netmon's `inet` table. */
  table: string;
  /** pf: read with `pfctl -zvsl` (read and clear) and keep the log cumulative. */
  pfZero: boolean;
  /** Also store every sample in this SQLite database. */
  sqlite?: string;
  /** When billing cycles start (`[billing]`). */
  billing: Billing;
  /** Customers: names over meters or columns, with quotas (`[[customer]]`). */
  customers: CustomerSpec[];
  /** `host`, `[prometheus]` and the PostgreSQL store (lib/config/fleet.ts). */
  fleet: FleetConfig;
}

/** Paths used when the config names none: absolute, since cron's PATH is short. */
export const DEFAULT_BINARIES: Binaries = {
  iptables: "/usr/sbin/iptables",
  iptablesSave: "/usr/sbin/iptables-save",
  iptablesRestore: "/usr/sbin/iptables-restore",
  ip6tables: "/usr/sbin/ip6tables",
  ip6tablesSave: "/usr/sbin/ip6tables-save",
  ip6tablesRestore: "/usr/sbin/ip6tables-restore",
  nft: "/usr/sbin/nft",
  pfctl: "/sbin/pfctl",
  ip: "/usr/sbin/ip",
  gnuplot: "/usr/bin/gnuplot",
};

/** Where netmon looks for a config when none is named. */
export const DEFAULT_CONFIG_PATH = "/etc/netmon/netmon.toml";

/** The report words of the original script's two meters (a Map: a meter named "constructor" has no label here). */
export const ORIGINAL_LABELS: ReadonlyMap<string, string> = new Map([
  ["proxy", "Proxied"],
  ["non-network", "Off Network"],
]);

/** The configuration used when there is no config file: every interface. */
export function defaultConfig(): Config {
  return {
    source: "interface",
    chain: "DOWNLOADED",
    wait: 10,
    binaries: { ...DEFAULT_BINARIES },
    meters: [],
    table: "netmon",
    pfZero: false,
    billing: { cycleDay: 1 },
    customers: [],
    fleet: {},
  };
}

const METER_NAME = /^[A-Za-z0-9][A-Za-z0-9_.@+-]{0,63}$/;
/** Made once: every string value is tested (a literal in the function is a new RegExp on every call). */
// deno-lint-ignore no-control-regex
const CONTROL_CHARACTER = /[\0-\x1f\x7f]/;
/** An iptables chain or nftables table name netmon accepts (a letter, then up to 27 of A-Z a-z 0-9 _ -). */
export const CHAIN_NAME = /^[A-Za-z][A-Za-z0-9_-]{0,27}$/;
const IFACE = /^[A-Za-z0-9_.@-]{1,15}\+?$|^\+$/;
const RESERVED_CHAINS = new Set([
  ...HOOKS,
  "PREROUTING",
  "POSTROUTING",
  "ACCEPT",
  "DROP",
  "REJECT",
  "RETURN",
  "QUEUE",
  "LOG",
]);
const BINARY_KEYS: Record<string, keyof Binaries> = {
  iptables: "iptables",
  iptables_save: "iptablesSave",
  iptables_restore: "iptablesRestore",
  ip6tables: "ip6tables",
  ip6tables_save: "ip6tablesSave",
  ip6tables_restore: "ip6tablesRestore",
  nft: "nft",
  pfctl: "pfctl",
  ip: "ip",
  gnuplot: "gnuplot",
};
const TOP_KEYS = [
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
  "mail",
  "billing",
  "customer",
  ...FLEET_KEYS,
];
const METER_KEYS = [
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
  "split",
  "overlap",
];
const FIREWALLS: readonly SourceName[] = ["iptables", "nftables", "pf"];

/** A config key's name, or a function making it (so the hot path builds no strings). */
type Key = string | (() => string);
const keyName = (k: Key) => (typeof k === "string" ? k : k());

/** Quotes a value for an error message, showing control characters. */
export function show(value: unknown): string {
  return JSON.stringify(value) ?? String(value);
}

/** Checks an interface name or match; returns a reason on failure. */
export function checkInterface(text: string): InterfaceMatch | string {
  const negated = text.startsWith("!");
  const name = negated ? text.slice(1) : text;
  if (!IFACE.test(name) || name === "." || name === "..") {
    return "is not an interface name (1 to 15 of A-Z a-z 0-9 _ . @ -, optionally ending in +)";
  }
  return { negated, name };
}

/**
 * Parses and validates config text. Throws a ConfigError whose message has
 * one line per problem, each naming `file` and the key.
 *
 * @example
 * ```ts
 * const config = parseConfig('source = "iptables"\n[[meter]]\nname = "proxy"\nfrom = "192.0.2.10"\n', "netmon.toml");
 * config.meters[0]?.from?.cidr; // "192.0.2.10/32"
 * ```
 */
export function parseConfig(text: string, file: string): Config {
  return configOfDocument(parseDocument(text, file), file);
}

/** The config's TOML as smol-toml reads it; a TOML error is one `FILE:LINE:COL: what is wrong` line (exit 78). */
export function parseDocument(text: string, file: string): Record<string, unknown> {
  try {
    return parseToml(text);
  } catch (err) {
    if (err instanceof TomlError) throw new ConfigError(`${file}:${err.line}:${err.column}: ${tomlReason(err, text)}`);
    throw err;
  }
}

/**
 * Validates a config's parsed TOML (from {@linkcode parseDocument}, or kept
 * from an earlier run: lib/state/config_cache.ts): every problem is one line
 * naming `file` and the key, all thrown together as one ConfigError (exit 78).
 */
export function configOfDocument(doc: Record<string, unknown>, file: string): Config {
  reached("config: TOML parsed");
  const problems: string[] = [];
  const bad = (key: string, what: string) => problems.push(`${file}: ${key}: ${what}`);
  const config = defaultConfig();
  config.file = file;

  for (const key of Object.keys(doc)) {
    if (!TOP_KEYS.includes(key)) bad(key, unknownKey(key, TOP_KEYS));
  }
  /** A string value, or undefined after reporting why not; the key's name is built only for a report. */
  const str = (keyOf: Key, value: unknown): string | undefined => {
    if (value === undefined) return undefined;
    if (typeof value !== "string") {
      bad(keyName(keyOf), `must be a string, not ${show(value)}`);
      return undefined;
    }
    if (CONTROL_CHARACTER.test(value)) {
      bad(keyName(keyOf), `${show(value)} contains a control character (newline, tab, NUL…)`);
      return undefined;
    }
    return value;
  };

  const source = str("source", doc.source);
  if (source !== undefined) {
    if ((SOURCES as readonly string[]).includes(source)) config.source = source as SourceName;
    else bad("source", `${show(source)} is not a known source (${SOURCES.join(", ")})`);
  } else if (doc.meter !== undefined) {
    config.source = "iptables";
  }
  const chain = str("chain", doc.chain);
  if (chain !== undefined) {
    if (!CHAIN_NAME.test(chain) || RESERVED_CHAINS.has(chain.toUpperCase())) {
      bad(
        "chain",
        `${show(chain)} is not a usable chain name (a letter then up to 27 of A-Z a-z 0-9 _ -, not a built-in)`,
      );
    } else config.chain = chain;
  }
  const stateDir = str("state_dir", doc.state_dir);
  if (stateDir !== undefined) {
    const problem = pathProblem(stateDir);
    if (problem) bad("state_dir", `${show(stateDir)} ${problem}`);
    else config.stateDir = stateDir;
  }
  if (doc.wait !== undefined) {
    const w = doc.wait;
    if (typeof w !== "number" || !Number.isInteger(w) || w < 0 || w > 3600) {
      bad("wait", `${show(w)} must be a whole number of seconds from 0 to 3600`);
    } else config.wait = w;
  }

  const table = str("table", doc.table);
  if (table !== undefined) {
    if (!CHAIN_NAME.test(table)) {
      bad("table", `${show(table)} is not a usable nftables table name (a letter then up to 27 of A-Z a-z 0-9 _ -)`);
    } else config.table = table;
    if (config.source !== "nftables") bad("table", `only applies to source = "nftables"`);
  }
  if (doc.pf_zero !== undefined) {
    if (typeof doc.pf_zero !== "boolean") bad("pf_zero", `must be true or false, not ${show(doc.pf_zero)}`);
    else config.pfZero = doc.pf_zero;
    if (config.source !== "pf") bad("pf_zero", `only applies to source = "pf"`);
  }
  const store = str("store", doc.store);
  if (store !== undefined && !isPostgresStore(store)) {
    const path = store.startsWith("sqlite:") ? store.slice(7) : undefined;
    const problem = path === undefined || path === "" || path.endsWith("/")
      ? "is not a file"
      : pathProblem(path.startsWith("/") ? path : `/${path}`);
    if (problem) {
      bad(
        "store",
        `${
          show(store)
        } must be "sqlite:FILE" (FILE absolute, or relative to the state directory) or "postgresql://USER@HOST:PORT/DB": ${problem}`,
      );
    } else config.sqlite = path as string;
  }
  if (doc.binaries !== undefined) {
    if (typeof doc.binaries !== "object" || doc.binaries === null || Array.isArray(doc.binaries)) {
      bad("binaries", "must be a table ([binaries])");
    } else {
      for (const [key, value] of Object.entries(doc.binaries)) {
        const field = BINARY_KEYS[key];
        if (!field) {
          bad(`binaries.${key}`, unknownKey(key, Object.keys(BINARY_KEYS)));
          continue;
        }
        const path = str(`binaries.${key}`, value);
        if (path === undefined) continue;
        const problem = pathProblem(path);
        if (problem) bad(`binaries.${key}`, `${show(path)} ${problem}`);
        else config.binaries[field] = path;
      }
    }
  }

  if (doc.mail !== undefined) {
    const mail = parseMail(doc.mail, bad, str, show);
    if (mail) config.mail = mail;
  }

  if (doc.interfaces !== undefined) {
    if (!Array.isArray(doc.interfaces)) bad("interfaces", "must be an array of interface names");
    else {
      const names: string[] = [];
      doc.interfaces.forEach((v, i) => {
        const name = str(`interfaces[${i + 1}]`, v);
        if (name === undefined) return;
        const m = checkInterface(name);
        if (typeof m === "string" || m.negated || m.name.endsWith("+")) {
          bad(`interfaces[${i + 1}]`, `${show(name)} is not an interface name`);
        } else names.push(name);
      });
      config.interfaces = names;
    }
    if (config.source !== "interface") bad("interfaces", `only applies to source = "interface"`);
  }

  /** Pairs of meters whose networks overlap, as `overlap = true` allows: no customer may sum both. */
  let allowedOverlaps: [string, string][] = [];
  if (doc.meter !== undefined) {
    if (!Array.isArray(doc.meter)) bad("meter", "must be an array of tables ([[meter]])");
    else {
      const seen = new Map<string, number>();
      doc.meter.forEach((raw, i) => {
        const at = `meter[${i + 1}]`;
        if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
          bad(at, "must be a table ([[meter]])");
          return;
        }
        const m = parseMeter(raw as Record<string, unknown>, at, config.source, bad, str);
        if (!m) return;
        const folded = m.name.toLowerCase();
        const first = seen.get(folded);
        if (first !== undefined) bad(`${at}.name`, `${show(m.name)} is already the name of meter[${first}]`);
        else seen.set(folded, i + 1);
        config.meters.push(m);
      });
      checkColumns(config, bad);
      allowedOverlaps = checkCustomerOverlap(doc.meter, config.meters, bad);
    }
    if (config.source === "interface") bad("meter", `meters need a firewall source (${FIREWALLS.join(", ")})`);
  }
  config.fleet = parseFleet(doc, store !== undefined && isPostgresStore(store) ? store : undefined, bad, str);
  config.billing = parseBilling(doc.billing, bad);
  reached("config: settings checked");
  config.customers = parseCustomers(doc.customer, config.billing, bad);
  reached("config: customers checked");
  // A firewall's columns are known now; the interface source's only from the log (checked where it is read).
  if (FIREWALLS.includes(config.source) && config.customers.length > 0 && problems.length === 0) {
    try {
      const columns = customerColumns(config.customers, allColumns(config.meters), file);
      if (allowedOverlaps.length > 0) {
        const meterNamed = new Map(config.meters.map((m) => [m.name, m]));
        const columnsOf = (name: string) => allColumns([meterNamed.get(name) as Meter]).map((c) => c.name);
        checkCustomerSums(allowedOverlaps, columnsOf, columns, bad);
      }
    } catch (e) {
      if (!(e instanceof CustomerMatchError)) throw e;
      problems.push(...e.message.split("\n"));
    }
  }
  if (FIREWALLS.includes(config.source) && config.meters.length === 0 && problems.length === 0) {
    bad("meter", `source = ${show(config.source)} needs at least one [[meter]] with a name and a match`);
  }
  if (problems.length > 0) throw new ConfigError(inFileOrder(problems, doc, file).join("\n"));
  return config;
}

/**
 * `problems` (each `FILE: KEY: what`) in the order of their keys in the
 * file, as the TOML document keeps them, a key's problems in the order
 * found; those of keys not in it (a missing one) last. Keys are checked by
 * concern, not in the order the user wrote them.
 */
function inFileOrder(problems: readonly string[], doc: Record<string, unknown>, file: string): string[] {
  const order = new Map<string, number>();
  const walk = (value: unknown, path: string): void => {
    if (Array.isArray(value)) {
      value.forEach((v, i) => {
        order.set(`${path}[${i + 1}]`, order.size);
        walk(v, `${path}[${i + 1}]`);
      });
    } else if (typeof value === "object" && value !== null && !(value instanceof Date)) {
      for (const [k, v] of Object.entries(value)) {
        const p = path === "" ? k : `${path}.${k}`;
        order.set(p, order.size);
        walk(v, p);
      }
    }
  };
  walk(doc, "");
  const rank = (problem: string): number => {
    const rest = problem.startsWith(`${file}: `) ? problem.slice(file.length + 2) : problem;
    // `meter[1].from`, or its nearest parent the document has; `meter NAME` is of the meters.
    let key = rest.slice(0, Math.max(0, rest.indexOf(": "))).split(" ")[0] ?? "";
    for (;;) {
      const at = order.get(key);
      if (at !== undefined) return at;
      const parent = key.replace(/(?:\.[^.[\]]*|\[\d+\])$/, "");
      if (parent === key) return Infinity;
      key = parent;
    }
  };
  return problems.map((p, i) => ({ p, i, r: rank(p) })).sort((a, b) => a.r - b.r || a.i - b.i).map((x) => x.p);
}

/** Split meters make columns like `NAME-inbound`: none may be another meter's name, and pf labels are short. */
function checkColumns(config: Config, bad: (key: string, what: string) => void): void {
  if (!config.meters.some((m) => m.split.direction || m.split.family) && config.source !== "pf") return;
  const owner = new Map<string, string>();
  for (const m of config.meters) {
    for (const c of allColumns([m])) {
      const key = c.name.toLowerCase();
      const other = owner.get(key);
      if (other !== undefined && other !== m.name) {
        bad(`meter ${m.name}`, `its column ${show(c.name)} is also a column of meter ${show(other)}: rename one`);
      }
      owner.set(key, m.name);
      if (config.source === "pf" && c.name.length > 63) {
        bad(`meter ${m.name}`, `its pf label ${show(c.name)} is longer than pf's 63 characters`);
      }
    }
  }
}

/** A string or an array of strings, as an array; undefined after reporting a wrong type. */
function list(
  keyOf: string,
  value: unknown,
  bad: (key: string, what: string) => void,
  str: (key: Key, value: unknown) => string | undefined,
): string[] | undefined {
  if (value === undefined) return undefined;
  if (Array.isArray(value)) {
    if (value.length === 0) {
      bad(keyOf, "is an empty list: leave the key out instead");
      return undefined;
    }
    const items = value.map((v, i) => str(`${keyOf}[${i + 1}]`, v));
    return items.every((v) => v !== undefined) ? items as string[] : undefined;
  }
  const one = str(keyOf, value);
  return one === undefined ? undefined : [one];
}

function parseAddressList(
  keyOf: string,
  value: unknown,
  source: SourceName,
  bad: (key: string, what: string) => void,
  str: (key: Key, value: unknown) => string | undefined,
): AddressList | undefined {
  if (typeof value === "string") {
    // One network, the common case: no list to make, nothing to overlap.
    const text = str(keyOf, value);
    if (text === undefined) return undefined;
    const m = parseAddressMatch(text);
    if (typeof m === "string") {
      bad(keyOf, `${show(text)} ${m}`);
      return undefined;
    }
    return m.family === 4 ? { negated: m.negated, v4: [m.cidr], v6: [] } : { negated: m.negated, v4: [], v6: [m.cidr] };
  }
  const texts = list(keyOf, value, bad, str);
  if (!texts) return undefined;
  if (texts.length > 4096) {
    bad(keyOf, `has ${texts.length} networks; at most 4096 (use fewer, wider CIDRs)`);
    return undefined;
  }
  const out: AddressList = { negated: false, v4: [], v6: [] };
  let ok = true;
  texts.forEach((text, i) => {
    const m = parseAddressMatch(text);
    const where = texts.length > 1 || Array.isArray(value) ? `${keyOf}[${i + 1}]` : keyOf;
    if (typeof m === "string") {
      bad(where, `${show(text)} ${m}`);
      ok = false;
      return;
    }
    if (i === 0) out.negated = m.negated;
    else if (m.negated !== out.negated) {
      bad(keyOf, `mixes negated (!) and plain networks: a list is either "any of these" or "none of these"`);
      ok = false;
      return;
    }
    (m.family === 4 ? out.v4 : out.v6).push(m.cidr);
  });
  if (!ok) return undefined;
  for (const fam of [out.v4, out.v6]) {
    const o = overlappingNetworks(fam);
    if (o) {
      bad(keyOf, `${o[0]} and ${o[1]} overlap: traffic in both would be counted twice; list each network once`);
      return undefined;
    }
    if (out.negated && fam.length > 1 && source === "iptables") {
      bad(
        keyOf,
        `an iptables rule can exclude one network per family, not ${fam.length}: use one wider CIDR or source = "nftables"`,
      );
      return undefined;
    }
  }
  return out;
}

/** The families of each `family` word; meters share these lists (none is ever changed). */
const FAMILY_WORDS: Record<string, Family[]> = { ipv4: [4], ipv6: [6], both: [4, 6] };
const DIRECTION_WORDS: Record<string, Direction[]> = { in: ["in"], out: ["out"], both: ["in", "out"] };
const ADDRESS_KEYS = ["from", "to", "address"] as const;
const INTERFACE_KEYS = ["in", "out"] as const;

/**
 * Validates one `[[meter]]`. At 10,000 meters of a name and a network this
 * runs mostly before V8 has optimised it, where every allocation and
 * iterator step counts: only the keys present are looked at, and the key
 * lists are walked by index (for-of over them cost about 30 ms there).
 */
function parseMeter(
  raw: Record<string, unknown>,
  at: string,
  source: SourceName,
  bad: (key: string, what: string) => void,
  str: (key: Key, value: unknown) => string | undefined,
): Meter | undefined {
  for (const key in raw) {
    if (!METER_KEYS.includes(key)) bad(`${at}.${key}`, unknownKey(key, METER_KEYS));
  }
  const name = str(() => `${at}.name`, raw.name);
  if (name === undefined) {
    if (raw.name === undefined) bad(`${at}.name`, "is missing: every meter needs a name");
    return undefined;
  }
  if (!METER_NAME.test(name)) {
    bad(`${at}.name`, `${show(name)} is not a usable meter name (1 to 64 of A-Z a-z 0-9 _ . @ + -)`);
    return undefined;
  }
  const meter: Meter = {
    name,
    label: ORIGINAL_LABELS.get(name) ?? name,
    hooks: [],
    families: [],
    split: { direction: false, family: false },
  };
  const label = raw.label === undefined ? undefined : str(`${at}.label`, raw.label);
  if (label !== undefined) {
    if (label.trim() === "" || label.length > 64) bad(`${at}.label`, `${show(label)} must be 1 to 64 characters`);
    else meter.label = label;
  }
  if (raw.hook !== undefined) parseHooks(meter, raw.hook, at, source, bad, str);
  let hasV4 = false, hasV6 = false;
  for (let k = 0; k < ADDRESS_KEYS.length; k++) {
    const key = ADDRESS_KEYS[k]!;
    if (raw[key] === undefined) continue;
    const l = parseAddressList(`${at}.${key}`, raw[key], source, bad, str);
    if (!l) continue;
    meter[key] = l;
    hasV4 ||= l.v4.length > 0;
    hasV6 ||= l.v6.length > 0;
  }
  if (meter.address && (meter.from || meter.to)) {
    bad(
      `${at}.address`,
      "counts traffic to and from the address, so from and to do not go with it: use one or the other",
    );
  }
  const direction = raw.direction === undefined ? undefined : str(`${at}.direction`, raw.direction);
  if (direction !== undefined) {
    const d = DIRECTION_WORDS[direction.toLowerCase()];
    if (!d) bad(`${at}.direction`, `${show(direction)} is not one of in, out, both`);
    else if (meter.from || meter.to) {
      bad(`${at}.direction`, "goes with address (or nothing), not from and to, which already say which way");
    } else meter.directions = d;
  } else if (meter.address) meter.directions = ["in", "out"];

  for (let k = 0; k < INTERFACE_KEYS.length; k++) {
    const key = INTERFACE_KEYS[k]!;
    if (raw[key] === undefined) continue;
    const text = str(`${at}.${key}`, raw[key]);
    if (text === undefined) continue;
    const m = checkInterface(text);
    if (typeof m === "string") bad(`${at}.${key}`, `${show(text)} ${m}`);
    else if (source === "pf" && m.name.endsWith("+")) {
      bad(`${at}.${key}`, `${show(text)}: pf has no + wildcard; name the interface or an interface group`);
    } else meter[key] = m;
  }

  const familyText = raw.family === undefined ? undefined : str(`${at}.family`, raw.family);
  if (familyText !== undefined) {
    const f = FAMILY_WORDS[familyText.toLowerCase()];
    if (!f) bad(`${at}.family`, `${show(familyText)} is not one of ipv4, ipv6, both`);
    else meter.families = f;
  } else {
    // With no network to say which, iptables meters IPv4 as the original did; the others both.
    const word = hasV4 && hasV6 ? "both" : hasV4 ? "ipv4" : hasV6 ? "ipv6" : source === "iptables" ? "ipv4" : "both";
    meter.families = FAMILY_WORDS[word] as Family[];
  }
  for (let k = 0; k < ADDRESS_KEYS.length; k++) {
    const key = ADDRESS_KEYS[k]!;
    const l = meter[key];
    if (!l || l.negated) continue;
    for (let j = 0; j < meter.families.length; j++) {
      const f = meter.families[j];
      if ((f === 4 ? l.v4 : l.v6).length === 0) {
        bad(
          `${at}.${key}`,
          `has no IPv${f} network but the meter counts IPv${f}${
            familyText === undefined ? " (another key has one)" : ""
          }: add one, or set family`,
        );
      }
    }
  }

  // Interfaces must fit the hooks: no packet in OUTPUT has an input interface, none in INPUT an output one.
  if (meter.in && !meter.in.negated && meterHooks(meter).every((h) => h === "OUTPUT")) {
    bad(`${at}.in`, "an OUTPUT rule has no input interface");
  }
  if (meter.out && !meter.out.negated && meterHooks(meter).every((h) => h === "INPUT")) {
    bad(`${at}.out`, "an INPUT rule has no output interface");
  }
  if (raw.split !== undefined) {
    for (const s of list(`${at}.split`, raw.split, bad, str) ?? []) {
      if (s === "direction") {
        if (!meter.directions) bad(`${at}.split`, `"direction" needs direction (or address)`);
        meter.split.direction = true;
      } else if (s === "family") meter.split.family = true;
      else bad(`${at}.split`, `${show(s)} is not one of direction, family`);
    }
  }
  return meter;
}

/** A meter's `hook`: one name or a list, each once, in upper case. */
function parseHooks(
  meter: Meter,
  value: unknown,
  at: string,
  source: SourceName,
  bad: (key: string, what: string) => void,
  str: (key: Key, value: unknown) => string | undefined,
): void {
  const hooks = typeof value === "string" ? [str(`${at}.hook`, value)] : list(`${at}.hook`, value, bad, str) ?? [];
  for (const hook of hooks) {
    if (hook === undefined) continue;
    const upper = hook.toUpperCase();
    if (!(HOOKS as readonly string[]).includes(upper)) {
      bad(`${at}.hook`, `${show(hook)} is not one of ${HOOKS.join(", ")}`);
    } else if (source === "pf" && upper === "FORWARD") {
      bad(`${at}.hook`, `pf has no FORWARD: a pf rule passes "in" (INPUT) or "out" (OUTPUT)`);
    } else if (!meter.hooks.includes(upper as Hook)) meter.hooks.push(upper as Hook);
  }
}

/**
 * smol-toml's reason in one line: its message goes on with an excerpt of the
 * document, and an unterminated string is reported as the line end it ran
 * into, which points nobody at the missing quote.
 */
function tomlReason(err: InstanceType<typeof TomlError>, text: string): string {
  const reason = (err.message.split("\n")[0] ?? "").replace(/^Invalid TOML document: /, "");
  const line = text.split("\n")[err.line - 1] ?? "";
  const atEnd = err.column > line.replace(/\r$/, "").length;
  if (atEnd && /control character/.test(reason)) {
    return "invalid TOML: unterminated string (the closing quote is missing)";
  }
  return `invalid TOML: ${reason}`;
}

/**
 * Where a config's parsed TOML may be kept between runs (lib/state/config_cache.ts): `get` gives the document
 * kept for exactly `text`, if any; `put` offers a freshly parsed one, with the config it made.
 */
export interface DocumentCache {
  get(text: string): Record<string, unknown> | undefined;
  put(text: string, doc: Record<string, unknown>, config: Config): void;
}

/** The largest config read: 10,000 meters are about 400 KB. */
export const MAX_CONFIG_BYTES = 64 << 20;

/** How the config file is opened: a link to a regular file followed (the path is the user's), anyone's file. */
const CONFIG_OPEN: OpenSpec = {
  what: "config file",
  follow: true,
  // Its owner and mode are refused by refuseLooseConfig, with the fix for a config.
  owners: "anyone",
  notFileFix: "name the TOML file with --config or NETMON_CONFIG",
};

/** How long an open of the config for reading alone, where a FIFO could be swapped in, may wait. */
const CONFIG_OPEN_MS = 5_000;

/**
 * The config's text: a regular file (a link to one is followed: the path is
 * the user's), read to its end but never past {@linkcode MAX_CONFIG_BYTES}.
 * A FIFO named as the config would hold every cron run forever, a device
 * such as /dev/zero would be read until memory ran out: both are refused.
 * It is opened as the state files are (lib/host/safe_open.ts): a user who
 * can write its directory (whose way is refused only once it is read) could
 * otherwise swap a FIFO in between the look and the open, and hold root's
 * runs; where netmon may only read it there, it waits at most
 * {@linkcode CONFIG_OPEN_MS} for the open.
 */
async function readConfigText(path: string): Promise<string> {
  const f = await SafeFile.openBounded(path, CONFIG_OPEN, CONFIG_OPEN_MS);
  if (f === undefined) throw new ConfigError(`${path}: config file not found (check --config or NETMON_CONFIG)`);
  refuseLooseConfig(f, path);
  return new TextDecoder().decode(readRest(f, path, CONFIG_OPEN, MAX_CONFIG_BYTES));
}

/**
 * Refuses (exit 77, with the fix) a config file another user owns or a group
 * or other users can write: it names the programs netmon runs, as root from
 * cron (lib/config/trust.ts checks the directories on the way, where a run
 * can wait for `stat`). Its open `f`'s own owner and mode, so whatever
 * name led to it.
 */
function refuseLooseConfig(f: SafeFile, path: string): void {
  const uid = getUid();
  if (uid === null) return; // without --allow-sys=uid: the run as a whole says what it needs
  const [problem] = trustProblems(path, [infoOf(path, f.file.statSync())], uid, CONFIG_FILE);
  if (problem !== undefined) {
    f.close();
    throw new NetmonError(problem, EX.NOPERM);
  }
}

/**
 * Reads and validates a config file. Its open is synchronous (no thread
 * hand-off on a report's path) but where only a wait could open it safely:
 * see {@linkcode readConfigText}. With `cache`, TOML the cache kept for this
 * exact text is validated instead of parsed again, and a freshly parsed
 * valid one is offered to it.
 */
export async function loadConfig(path: string, cache?: DocumentCache): Promise<Config> {
  const text = await readConfigText(path);
  const kept = cache?.get(text);
  if (kept) return configOfDocument(kept, path);
  const doc = parseDocument(text, path);
  const config = configOfDocument(doc, path);
  cache?.put(text, doc, config);
  return config;
}
