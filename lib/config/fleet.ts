/**
 * The fleet part of the config: the machine's name in shared outputs
 * (`host`), the Prometheus textfile (`[prometheus] textfile`) and the
 * PostgreSQL store (`store = "postgresql://USER@HOST:PORT/DB"` with
 * `[postgresql] password_file, sslmode, ca_file`). Pure: parsed TOML values
 * in, validated settings out, each problem reported once naming its key.
 *
 * @module
 */

import { pathProblem } from "./paths.ts";
import { ConfigError } from "../host/errors.ts";

/** How the connection to PostgreSQL is secured (libpq's names). */
export type SslMode = "disable" | "require" | "verify-ca" | "verify-full";

/** The TLS modes, as the config spells them. */
export const SSL_MODES: readonly SslMode[] = ["disable", "require", "verify-ca", "verify-full"];

/** The parts of a store URL, checked. */
export interface StoreUrl {
  user: string;
  host: string;
  port: number;
  database: string;
}

/** The variable the store's password comes from when no password_file is set. */
export const DB_PASSWORD_ENV = "NETMON_DB_PASSWORD";

/** A validated PostgreSQL store. */
export interface PostgresConfig {
  /** `postgresql://USER@HOST:PORT/DB`, without a password. */
  url: string;
  /** File whose first line is the password; else `NETMON_DB_PASSWORD`, else none. */
  passwordFile?: string;
  /** TLS; default `verify-full`, or `disable` for 127.0.0.1, ::1 and localhost. */
  sslmode?: SslMode;
  /** PEM file of the CA to trust for the server. */
  caFile?: string;
}

/** The fleet settings of a config. */
export interface FleetConfig {
  /** `host`: this machine's name in the store (default: the host name, read when needed). */
  host?: string;
  /** `[prometheus] textfile`: where node_exporter's textfile collector reads netmon's metrics. */
  textfile?: string;
  /** The PostgreSQL store, when `store` is a postgresql:// URL. */
  postgres?: PostgresConfig;
}

/** The top-level keys this module owns (beside `store`, which it shares with the SQLite store). */
export const FLEET_KEYS = ["host", "prometheus", "postgresql"];
const PROMETHEUS_KEYS = ["textfile"];
const POSTGRESQL_KEYS = ["password_file", "sslmode", "ca_file"];
const HOST_NAME = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,254}$/;

/** True when `store` names a PostgreSQL store rather than `sqlite:FILE`. */
export function isPostgresStore(store: string): boolean {
  return /^postgres(ql)?:/i.test(store);
}

/**
 * Parses `postgresql://USER@HOST:PORT/DB` (or `postgres://`); a ConfigError
 * (78) says what is wrong, never echoing a password.
 *
 * @example
 * ```ts
 * parseStoreUrl("postgresql://netmon@db.example.org:5432/traffic").database; // "traffic"
 * ```
 */
export function parseStoreUrl(url: string): StoreUrl {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new ConfigError(`store: not a URL like postgresql://netmon@db.example.org:5432/traffic`);
  }
  if (u.protocol !== "postgresql:" && u.protocol !== "postgres:") {
    throw new ConfigError(`store: ${u.protocol} is not postgresql:`);
  }
  if (u.password !== "") {
    throw new ConfigError(
      "store: the URL holds a password: remove it, and put it in password_file or NETMON_DB_PASSWORD",
    );
  }
  if (u.search !== "" || u.hash !== "") {
    throw new ConfigError("store: options in the URL are not read: use sslmode and ca_file in the config");
  }
  const database = decodeURIComponent(u.pathname.replace(/^\//, ""));
  if (u.username === "" || u.hostname === "" || database === "" || database.includes("/")) {
    throw new ConfigError("store: name user, host and database: postgresql://netmon@db.example.org:5432/traffic");
  }
  return {
    user: decodeURIComponent(u.username),
    host: u.hostname.replace(/^\[(.*)\]$/, "$1"),
    port: u.port === "" ? 5432 : Number(u.port),
    database,
  };
}

type Bad = (key: string, what: string) => void;
type Str = (key: string, value: unknown) => string | undefined;

function table(
  name: string,
  value: unknown,
  keys: readonly string[],
  bad: Bad,
): Record<string, unknown> | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    bad(name, `must be a table ([${name}])`);
    return undefined;
  }
  const t = value as Record<string, unknown>;
  for (const key of Object.keys(t)) {
    if (!keys.includes(key)) bad(`${name}.${key}`, `unknown key (known keys: ${keys.join(", ")})`);
  }
  return t;
}

function path(key: string, value: unknown, bad: Bad, str: Str): string | undefined {
  const p = str(key, value);
  if (p === undefined) return undefined;
  const problem = pathProblem(p) ?? (p.endsWith("/") ? "must name a file, not a directory" : undefined);
  if (problem) {
    bad(key, `${JSON.stringify(p)} ${problem}`);
    return undefined;
  }
  return p;
}

/**
 * The fleet settings of a parsed config document. `store` is passed only
 * when it is a PostgreSQL URL ({@linkcode isPostgresStore}); the SQLite form
 * stays with the rest of the config.
 *
 * @example
 * ```ts
 * const problems: string[] = [];
 * const fleet = parseFleet(
 *   { host: "edge1", prometheus: { textfile: "/var/lib/prometheus/node-exporter/netmon.prom" } },
 *   undefined,
 *   (k, w) => problems.push(`${k}: ${w}`),
 *   (_k, v) => v as string,
 * );
 * fleet.textfile; // "/var/lib/prometheus/node-exporter/netmon.prom"
 * ```
 */
export function parseFleet(doc: Record<string, unknown>, store: string | undefined, bad: Bad, str: Str): FleetConfig {
  const fleet: FleetConfig = {};
  const host = str("host", doc.host);
  if (host !== undefined) {
    if (!HOST_NAME.test(host)) {
      bad("host", `${JSON.stringify(host)} must be 1 to 255 of A-Z a-z 0-9 _ . : - (the name of this machine)`);
    } else fleet.host = host;
  }
  const prometheus = table("prometheus", doc.prometheus, PROMETHEUS_KEYS, bad);
  if (prometheus) {
    const textfile = path("prometheus.textfile", prometheus.textfile, bad, str);
    if (textfile !== undefined) {
      if (!textfile.endsWith(".prom")) {
        bad(
          "prometheus.textfile",
          `${JSON.stringify(textfile)} must end in .prom (node_exporter's textfile collector reads only *.prom)`,
        );
      } else fleet.textfile = textfile;
    } else if (prometheus.textfile === undefined) {
      bad("prometheus.textfile", "is missing: name the file node_exporter's textfile collector reads");
    }
  }
  const pg = table("postgresql", doc.postgresql, POSTGRESQL_KEYS, bad);
  if (store !== undefined) {
    let ok = true;
    try {
      parseStoreUrl(store);
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      bad("store", e.message.replace(/^store: /, ""));
      ok = false;
    }
    const postgres: PostgresConfig = { url: store };
    if (pg) {
      const passwordFile = path("postgresql.password_file", pg.password_file, bad, str);
      if (passwordFile !== undefined) postgres.passwordFile = passwordFile;
      const caFile = path("postgresql.ca_file", pg.ca_file, bad, str);
      if (caFile !== undefined) postgres.caFile = caFile;
      const mode = str("postgresql.sslmode", pg.sslmode);
      if (mode !== undefined) {
        if ((SSL_MODES as readonly string[]).includes(mode)) postgres.sslmode = mode as SslMode;
        else bad("postgresql.sslmode", `${JSON.stringify(mode)} is not one of ${SSL_MODES.join(", ")}`);
      }
      if (postgres.caFile !== undefined && (postgres.sslmode === "disable" || postgres.sslmode === "require")) {
        bad("postgresql.ca_file", `is not used with sslmode = "${postgres.sslmode}": use verify-ca or verify-full`);
      }
      // libpq refuses it too: checking neither a CA of one's own nor the name, any public CA's certificate would do.
      if (postgres.sslmode === "verify-ca" && postgres.caFile === undefined) {
        bad(
          "postgresql.sslmode",
          '"verify-ca" needs ca_file, the CA that signed the server\'s certificate (it is the only one trusted; ' +
            'without it any certificate a public CA issued, for any name, would pass): give ca_file, or use "verify-full"',
        );
      }
    }
    if (ok) fleet.postgres = postgres;
  } else if (pg) {
    bad("postgresql", 'applies to a PostgreSQL store: set store = "postgresql://USER@HOST:PORT/DB"');
  }
  return fleet;
}
