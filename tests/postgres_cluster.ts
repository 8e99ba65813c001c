/**
 * Test helper: a throwaway PostgreSQL cluster (Debian's `postgresql`), made by
 * `initdb` in a temporary directory, run by `pg_ctl` as an unprivileged user
 * (`postgres`, else `nobody`, when the tests run as root), listening on
 * 127.0.0.1 only, on a free port, with password (SCRAM) authentication, and
 * removed afterwards. Every wait is bounded. `pg_ctl` detaches the server
 * from this process, so a test or bench interrupted with SIGINT or SIGTERM
 * would leave it running: while a cluster runs, those signals stop every
 * running cluster at once (`-m immediate`), remove its directory, and exit
 * 130 or 143 as the signal would have.
 *
 * @module
 */

/** A running (or stopped) throwaway cluster. */
export interface PostgresCluster {
  /** Always 127.0.0.1. */
  readonly host: string;
  /** The TCP port it listens on. */
  readonly port: number;
  /** The superuser netmon logs in as. */
  readonly user: string;
  /** That user's password. */
  readonly password: string;
  /** The database made for the test. */
  readonly database: string;
  /** `postgresql://user@127.0.0.1:port/database` (no password in it). */
  readonly url: string;
  /** The temporary directory holding everything (data, socket, log). */
  readonly dir: string;
  /** With `tls`: the CA that signed the server's certificate. */
  readonly caFile: string | undefined;
  /** Starts the server again after {@linkcode PostgresCluster.stop}. */
  start(): Promise<void>;
  /** Stops the server (`pg_ctl stop -m fast`): clients are disconnected. */
  stop(): Promise<void>;
  /** Runs SQL through psql as the superuser and returns its unaligned output. */
  psql(sql: string): Promise<string>;
  /** Stops the server and removes the directory. */
  [Symbol.asyncDispose](): Promise<void>;
}

const decoder = new TextDecoder();

/** How to stop each running cluster at once and remove it, when the process is interrupted. */
const toStop = new Set<() => Promise<void>>();
let interrupted = false;

/** Stops every running cluster, then exits with `code` as the signal would have. */
async function interrupt(code: number): Promise<void> {
  if (interrupted) return; // a second signal while the first is handled
  interrupted = true;
  await Promise.allSettled([...toStop].map((stop) => stop()));
  Deno.exit(code);
}

const LISTENERS: [Deno.Signal, () => void][] = [
  ["SIGINT", () => void interrupt(130)],
  ["SIGTERM", () => void interrupt(143)],
];

/** Registers `stop` to run on SIGINT or SIGTERM (listening only while a cluster runs); returns its removal. */
function stopOnSignal(stop: () => Promise<void>): () => void {
  if (toStop.size === 0) { for (const [signal, listener] of LISTENERS) Deno.addSignalListener(signal, listener); }
  toStop.add(stop);
  return () => {
    toStop.delete(stop);
    if (toStop.size === 0) { for (const [signal, listener] of LISTENERS) Deno.removeSignalListener(signal, listener); }
  };
}

/** The newest installed PostgreSQL's bin directory, or undefined. */
export function postgresBin(): string | undefined {
  let best: { v: number; dir: string } | undefined;
  try {
    for (const e of Deno.readDirSync("/usr/lib/postgresql")) {
      const v = Number(e.name);
      const dir = `/usr/lib/postgresql/${e.name}/bin`;
      try {
        Deno.statSync(`${dir}/pg_ctl`);
      } catch {
        continue;
      }
      if (Number.isFinite(v) && (!best || v > best.v)) best = { v, dir };
    }
  } catch {
    return undefined;
  }
  return best?.dir;
}

/** Why a cluster cannot be made here, or undefined when it can. */
export function postgresUnavailable(): string | undefined {
  return postgresBin() === undefined
    ? "PostgreSQL is not installed (Debian package postgresql; .ci/run installs it)"
    : undefined;
}

/** A port nobody listens on now on 127.0.0.1 (the kernel's choice). */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

async function idOf(user: string): Promise<{ uid: number; gid: number } | undefined> {
  const out = async (flag: string) => {
    const r = await new Deno.Command("id", { args: [flag, user], stdout: "piped", stderr: "null", env: {} }).output();
    return r.code === 0 ? Number(decoder.decode(r.stdout).trim()) : undefined;
  };
  const uid = await out("-u");
  const gid = await out("-g");
  return uid === undefined || gid === undefined ? undefined : { uid, gid };
}

/** How to run a command as `user` (root only), and who that is. */
export interface RunAs {
  /** Argument prefix: setpriv with the user's ids, or nothing when not root. */
  prefix: string[];
  uid: number;
  gid: number;
}

/** setpriv prefix to drop root to the first of `users` that exists; as non-root, run as oneself. */
export async function dropRoot(users: string[]): Promise<RunAs> {
  const self = Deno.uid();
  if (self !== 0) return { prefix: [], uid: self ?? -1, gid: Deno.gid() ?? -1 };
  for (const u of users) {
    const ids = await idOf(u);
    if (ids) {
      return {
        prefix: ["setpriv", `--reuid=${ids.uid}`, `--regid=${ids.gid}`, "--clear-groups", "--"],
        ...ids,
      };
    }
  }
  throw new Error(`none of the users ${users.join(", ")} exists to run a test service unprivileged`);
}

/** Runs a command with a bounded time, no shell, a minimal env; throws with its stderr unless it exits 0. */
export async function runBounded(
  argv: string[],
  timeoutMs: number,
  env: Record<string, string> = { PATH: "/usr/bin:/bin", LANG: "C" },
): Promise<string> {
  const [cmd, ...args] = argv as [string, ...string[]];
  const child = new Deno.Command(cmd, { args, env, clearEnv: true, stdin: "null", stdout: "piped", stderr: "piped" })
    .spawn();
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
  }, timeoutMs);
  try {
    const out = await child.output();
    if (out.code !== 0) {
      throw new Error(
        `${argv.join(" ")} exited ${out.code}${out.signal ? ` (${out.signal})` : ""}: ${
          decoder.decode(out.stderr).trim() || decoder.decode(out.stdout).trim()
        }`,
      );
    }
    return decoder.decode(out.stdout);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Makes and starts a throwaway cluster. Dispose of it (`await using`) to stop
 * it and remove its directory.
 */
export async function startPostgresCluster(
  opts: {
    user?: string;
    database?: string;
    settings?: Record<string, string | number>;
    /** Serve TLS with a certificate for 127.0.0.1 (IP SAN) signed by a throwaway CA (its PEM at `caFile`). */
    tls?: boolean;
    /** Run the server in this network namespace (its 127.0.0.1); psql still reaches it by its Unix socket. */
    netns?: string;
  } = {},
): Promise<PostgresCluster> {
  const bin = postgresBin();
  if (!bin) throw new Error(postgresUnavailable());
  const as = await dropRoot(["postgres", "nobody"]);
  const dir = await Deno.makeTempDir({ prefix: "netmon-pg-" });
  const user = opts.user ?? "netmon";
  const database = opts.database ?? "traffic";
  const password = `pw-${crypto.randomUUID()}`;
  const data = `${dir}/data`;
  const log = `${dir}/postgres.log`;
  let port = freePort();
  let running = false;
  const asUser = (argv: string[]) => [...as.prefix, ...argv];
  const inNetns = (argv: string[]) => (opts.netns ? ["/usr/sbin/ip", "netns", "exec", opts.netns, ...argv] : argv);
  try {
    await Deno.chmod(dir, 0o700);
    await Deno.chown(dir, as.uid, as.gid);
    const pwfile = `${dir}/pwfile`;
    await Deno.writeTextFile(pwfile, `${password}\n`, { createNew: true, mode: 0o600 });
    await Deno.chown(pwfile, as.uid, as.gid);
    await runBounded(
      asUser([
        `${bin}/initdb`,
        "-D",
        data,
        "-U",
        user,
        `--pwfile=${pwfile}`,
        "--auth=scram-sha-256",
        "--encoding=UTF8",
        "--locale=C",
        "--no-sync",
      ]),
      120_000,
    );
    await Deno.remove(pwfile);
    const conf = (p: number) =>
      `\n# netmon test cluster\nlisten_addresses = '127.0.0.1'\nport = ${p}\n` +
      `unix_socket_directories = '${dir}'\nlogging_collector = off\n` + tlsConf +
      Object.entries(opts.settings ?? {}).map(([k, v]) => `${k} = ${typeof v === "number" ? v : `'${v}'`}\n`).join("");
    let caFile: string | undefined;
    let tlsConf = "";
    if (opts.tls) {
      // A CA and a server certificate it signed, for 127.0.0.1, as a real deployment has (rustls, Deno's TLS,
      // refuses a CA certificate used as the server's own).
      caFile = `${dir}/ca.crt`;
      const cert = `${data}/server.crt`;
      const key = `${data}/server.key`;
      const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
      await runBounded(
        ["openssl", "req", "-x509", ...ec, "-days", "2", "-subj", "/CN=netmon test CA", "-keyout", `${dir}/ca.key`]
          .concat(["-out", caFile]),
        60_000,
      );
      await runBounded(
        ["openssl", "req", "-new", ...ec, "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"]
          .concat(["-keyout", key, "-out", `${dir}/server.csr`]),
        60_000,
      );
      await runBounded(
        ["openssl", "x509", "-req", "-in", `${dir}/server.csr`, "-CA", caFile, "-CAkey", `${dir}/ca.key`]
          .concat(["-set_serial", "1", "-days", "2", "-copy_extensions", "copyall", "-out", cert]),
        60_000,
      );
      await Deno.remove(`${dir}/ca.key`);
      await Deno.chmod(key, 0o600);
      await Deno.chown(key, as.uid, as.gid);
      await Deno.chmod(caFile, 0o644);
      await Deno.chmod(cert, 0o644);
      tlsConf = `ssl = on\nssl_cert_file = '${cert}'\nssl_key_file = '${key}'\n`;
    }
    const confPath = `${data}/postgresql.conf`;
    const base = await Deno.readTextFile(confPath);
    const start = async () => {
      // The port was free when chosen; if someone took it since, choose again.
      for (let attempt = 0;; attempt++) {
        await Deno.writeTextFile(confPath, base + conf(port));
        try {
          await runBounded(
            inNetns(asUser([`${bin}/pg_ctl`, "-D", data, "-l", log, "-w", "-t", "60", "start"])),
            90_000,
          );
          running = true;
          return;
        } catch (err) {
          if (attempt >= 3) throw new Error(`${err}\n${await Deno.readTextFile(log).catch(() => "")}`);
          port = freePort();
        }
      }
    };
    const stop = async () => {
      if (!running) return;
      await runBounded(asUser([`${bin}/pg_ctl`, "-D", data, "-w", "-t", "60", "-m", "fast", "stop"]), 90_000);
      running = false;
    };
    await start();
    const immediately = () =>
      runBounded(asUser([`${bin}/pg_ctl`, "-D", data, "-w", "-t", "30", "-m", "immediate", "stop"]), 60_000);
    const forget = stopOnSignal(async () => {
      if (running) await immediately().catch(() => {});
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    });
    const psql = (sql: string, db = database) =>
      runBounded(
        asUser([
          `${bin}/psql`,
          "-X",
          "-q",
          "-A",
          "-t",
          "-v",
          "ON_ERROR_STOP=1",
          "-h",
          dir,
          "-p",
          String(port),
          "-U",
          user,
          "-d",
          db,
          "-c",
          sql,
        ]),
        60_000,
        { PATH: "/usr/bin:/bin", LANG: "C", PGPASSWORD: password },
      );
    await psql(`CREATE DATABASE ${database}`, "postgres");
    const cluster: PostgresCluster = {
      host: "127.0.0.1",
      get port() {
        return port;
      },
      user,
      password,
      database,
      get url() {
        return `postgresql://${user}@127.0.0.1:${port}/${database}`;
      },
      dir,
      caFile,
      start,
      stop,
      psql: (sql) => psql(sql),
      async [Symbol.asyncDispose]() {
        try {
          await stop();
        } catch {
          // A fast stop that did not finish: stop at once, then remove.
          await immediately().catch(() => {});
        }
        await Deno.remove(dir, { recursive: true });
        forget();
      },
    };
    return cluster;
  } catch (err) {
    if (running) {
      await runBounded(asUser([`${bin}/pg_ctl`, "-D", data, "-w", "-t", "30", "-m", "immediate", "stop"]), 60_000)
        .catch(() => {});
    }
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    throw err;
  }
}
