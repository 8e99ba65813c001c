/**
 * netmon's configuration: TOML text in, a validated {@linkcode Config} out.
 * Every problem is reported as its own line naming the file and the key, and
 * every value that later reaches a firewall command is checked here first.
 *
 * @module
 */

import { type MailConfig, parseMail } from "./mail_config.ts";
import { type AddressMatch, parseAddressMatch } from "./address.ts";
import { ConfigError, fileError } from "./errors.ts";
import { parseToml, TomlSyntaxError } from "./toml.ts";

/** The built-in chains a meter's rule can hook. */
export const HOOKS = ["INPUT", "OUTPUT", "FORWARD"] as const;
/** A built-in chain a meter's rule hooks. */
export type Hook = typeof HOOKS[number];

/** The counter sources netmon can read. */
export const SOURCES = ["iptables", "interface"] as const;
/** A counter source. */
export type SourceName = typeof SOURCES[number];

/** An interface match, e.g. `eth0`, `!eth0`, `veth+`. */
export interface InterfaceMatch {
  /** Everything but this interface. */
  negated: boolean;
  /** The name, with iptables' trailing `+` wildcard if any. */
  name: string;
}

/** One thing to count: a name plus what it matches. */
export interface Meter {
  /** Unique name, the log column and rule comment. */
  name: string;
  /** Word used for it in the report (the original's "Proxied", "Off Network"). */
  label: string;
  /** Built-in chain its rule hooks. */
  hook: Hook;
  /** Source address match. */
  from?: AddressMatch;
  /** Destination address match. */
  to?: AddressMatch;
  /** Input interface match. */
  in?: InterfaceMatch;
  /** Output interface match. */
  out?: InterfaceMatch;
}

/** Absolute paths of the programs netmon runs. */
export interface Binaries {
  /** `iptables`, for reading counters. */
  iptables: string;
  /** `iptables-save`, for finding netmon's rules. */
  iptablesSave: string;
  /** `iptables-restore`, for changing them in one transaction. */
  iptablesRestore: string;
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
}

/** Paths used when the config names none: absolute, since cron's PATH is short. */
export const DEFAULT_BINARIES: Binaries = {
  iptables: "/usr/sbin/iptables",
  iptablesSave: "/usr/sbin/iptables-save",
  iptablesRestore: "/usr/sbin/iptables-restore",
  ip: "/usr/sbin/ip",
  gnuplot: "/usr/bin/gnuplot",
};

/** Where netmon looks for a config when none is named. */
export const DEFAULT_CONFIG_PATH = "/etc/netmon/netmon.toml";

/** The report words of the original script's two meters. */
export const ORIGINAL_LABELS: Readonly<Record<string, string>> = {
  proxy: "Proxied",
  "non-network": "Off Network",
};

/** The configuration used when there is no config file: every interface. */
export function defaultConfig(): Config {
  return { source: "interface", chain: "DOWNLOADED", wait: 10, binaries: { ...DEFAULT_BINARIES }, meters: [] };
}

const METER_NAME = /^[A-Za-z0-9][A-Za-z0-9_.@+-]{0,63}$/;
const CHAIN_NAME = /^[A-Za-z][A-Za-z0-9_-]{0,27}$/;
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
  ip: "ip",
  gnuplot: "gnuplot",
};
const TOP_KEYS = ["source", "chain", "state_dir", "wait", "binaries", "interfaces", "meter", "mail"];
const METER_KEYS = ["name", "label", "hook", "from", "to", "in", "out"];

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
  let doc: Record<string, unknown>;
  try {
    doc = parseToml(text);
  } catch (err) {
    if (err instanceof TomlSyntaxError) {
      throw new ConfigError(`${file}:${err.line}:${err.column}: invalid TOML: ${err.message}`);
    }
    throw err;
  }
  const problems: string[] = [];
  const bad = (key: string, what: string) => problems.push(`${file}: ${key}: ${what}`);
  const config = defaultConfig();
  config.file = file;

  for (const key of Object.keys(doc)) {
    if (!TOP_KEYS.includes(key)) bad(key, `unknown key (known keys: ${TOP_KEYS.join(", ")})`);
  }
  /** A string value, or undefined after reporting why not; the key's name is built only for a report. */
  const str = (keyOf: Key, value: unknown): string | undefined => {
    if (value === undefined) return undefined;
    if (typeof value !== "string") {
      bad(keyName(keyOf), `must be a string, not ${show(value)}`);
      return undefined;
    }
    // deno-lint-ignore no-control-regex
    if (/[\0-\x1f\x7f]/.test(value)) {
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
    if (!stateDir.startsWith("/")) bad("state_dir", `${show(stateDir)} must be an absolute path`);
    else config.stateDir = stateDir;
  }
  if (doc.wait !== undefined) {
    const w = doc.wait;
    if (typeof w !== "number" || !Number.isInteger(w) || w < 0 || w > 3600) {
      bad("wait", `${show(w)} must be a whole number of seconds from 0 to 3600`);
    } else config.wait = w;
  }

  if (doc.binaries !== undefined) {
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
        if (path === undefined) continue;
        if (!path.startsWith("/") || path.includes("..")) {
          bad(`binaries.${key}`, `${show(path)} must be an absolute path (cron's PATH is short)`);
        } else config.binaries[field] = path;
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
        const m = parseMeter(raw as Record<string, unknown>, at, bad, str);
        if (!m) return;
        const first = seen.get(m.name.toLowerCase());
        if (first !== undefined) bad(`${at}.name`, `${show(m.name)} is already the name of meter[${first}]`);
        else seen.set(m.name.toLowerCase(), i + 1);
        config.meters.push(m);
      });
    }
    if (config.source === "interface") bad("meter", `meters need a firewall source (source = "iptables")`);
  }
  if (config.source === "iptables" && config.meters.length === 0 && problems.length === 0) {
    bad("meter", `source = "iptables" needs at least one [[meter]] with a name and a match`);
  }
  if (problems.length > 0) throw new ConfigError(problems.join("\n"));
  return config;
}

function parseMeter(
  raw: Record<string, unknown>,
  at: string,
  bad: (key: string, what: string) => void,
  str: (key: Key, value: unknown) => string | undefined,
): Meter | undefined {
  for (const key of Object.keys(raw)) {
    if (!METER_KEYS.includes(key)) bad(`${at}.${key}`, `unknown key (known keys: ${METER_KEYS.join(", ")})`);
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
  const meter: Meter = { name, label: ORIGINAL_LABELS[name] ?? name, hook: "INPUT" };
  const label = str(() => `${at}.label`, raw.label);
  if (label !== undefined) {
    if (label.trim() === "" || label.length > 64) bad(`${at}.label`, `${show(label)} must be 1 to 64 characters`);
    else meter.label = label;
  }
  const hook = str(() => `${at}.hook`, raw.hook);
  if (hook !== undefined) {
    const upper = hook.toUpperCase();
    if ((HOOKS as readonly string[]).includes(upper)) meter.hook = upper as Hook;
    else bad(`${at}.hook`, `${show(hook)} is not one of ${HOOKS.join(", ")}`);
  }
  for (const key of ["from", "to"] as const) {
    const text = str(() => `${at}.${key}`, raw[key]);
    if (text === undefined) continue;
    const m = parseAddressMatch(text);
    if (typeof m === "string") bad(`${at}.${key}`, `${show(text)} ${m}`);
    else if (m.family === 6) bad(`${at}.${key}`, `${show(text)} is IPv6, which source = "iptables" does not meter`);
    else meter[key] = m;
  }
  for (const key of ["in", "out"] as const) {
    const text = str(() => `${at}.${key}`, raw[key]);
    if (text === undefined) continue;
    const m = checkInterface(text);
    if (typeof m === "string") bad(`${at}.${key}`, `${show(text)} ${m}`);
    else meter[key] = m;
  }
  if (meter.in && meter.hook === "OUTPUT") bad(`${at}.in`, "an OUTPUT rule has no input interface");
  if (meter.out && meter.hook === "INPUT") bad(`${at}.out`, "an INPUT rule has no output interface");
  return meter;
}

/** Reads and validates a config file. */
export async function loadConfig(path: string): Promise<Config> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new ConfigError(`${path}: config file not found (check --config or NETMON_CONFIG)`);
    }
    throw fileError(err, "read config file", path);
  }
  return parseConfig(text, path);
}
