/**
 * The test SMTP server (tests/smtp_server.ts) as a program, for a network
 * namespace: netmon run in a namespace (to meter its veth) reaches only that
 * namespace's 127.0.0.1, so the server must listen there. Started by
 * {@linkcode startSmtpIn}; each message it accepts is appended to a file as
 * one JSON line before the server answers 250, so a test reading the file
 * after netmon exits sees every message netmon saw accepted.
 *
 * Run as a program: `deno run -A tests/smtp_in_netns.ts OUT_FILE PORT` (PORT
 * 0: a free one); it prints `PORT n` once listening.
 *
 * @module
 */
import { type Received, startSmtp } from "./smtp_server.ts";

/** A server running in a namespace, as a child process. */
export interface NsSmtp {
  /** Its port on the namespace's 127.0.0.1. */
  port: number;
  /** Messages accepted so far (read from its file). */
  messages(): Received[];
  /** Stops it (the server is down); {@linkcode NsSmtp.start} brings it back on the same port. */
  stop(): Promise<void>;
  /** Starts it again on its port. */
  start(): Promise<void>;
}

const SELF = new URL(import.meta.url).pathname;

async function spawnIn(ns: string, file: string, port: number): Promise<{ child: Deno.ChildProcess; port: number }> {
  const child = new Deno.Command("ip", {
    args: ["netns", "exec", ns, Deno.execPath(), "run", "-A", "--no-prompt", SELF, file, String(port)],
    stdout: "piped",
    stderr: "inherit",
    env: {
      PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
      HOME: Deno.env.get("HOME") ?? "/root",
      ...(Deno.env.get("DENO_DIR") ? { DENO_DIR: Deno.env.get("DENO_DIR") as string } : {}),
    },
    clearEnv: true,
  }).spawn();
  const reader = child.stdout.getReader();
  let text = "";
  const deadline = setTimeout(() => child.kill("SIGKILL"), 30_000);
  try {
    while (!/PORT \d+\n/.test(text)) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`the SMTP server in ${ns} did not start`);
      text += new TextDecoder().decode(value);
    }
  } finally {
    clearTimeout(deadline);
    reader.releaseLock();
  }
  child.stdout.cancel().catch(() => {});
  return { child, port: Number(/PORT (\d+)/.exec(text)?.[1]) };
}

/** Starts the server in namespace `ns`, appending what it accepts to `file`. */
export async function startSmtpIn(ns: string, file: string): Promise<NsSmtp> {
  Deno.writeTextFileSync(file, "", { createNew: true, mode: 0o600 });
  let running: Deno.ChildProcess | undefined;
  const first = await spawnIn(ns, file, 0);
  running = first.child;
  const handle: NsSmtp = {
    port: first.port,
    messages() {
      const text = Deno.readTextFileSync(file);
      return text.split("\n").filter((l) => l !== "").map((l) => JSON.parse(l) as Received);
    },
    async stop() {
      if (!running) return;
      running.kill("SIGTERM");
      await running.status;
      running = undefined;
    },
    async start() {
      if (running) return;
      running = (await spawnIn(ns, file, handle.port)).child;
    },
  };
  return handle;
}

if (import.meta.main) {
  const [file, port] = Deno.args as [string, string];
  const server = await startSmtp({ tls: "none", ...(Number(port) > 0 ? { port: Number(port) } : {}) });
  const push = server.messages.push.bind(server.messages);
  // Recorded before the server answers: the message is in the file by the time the client hears 250.
  server.messages.push = (...items: Received[]) => {
    for (const m of items) Deno.writeTextFileSync(file, JSON.stringify(m) + "\n", { append: true });
    return push(...items);
  };
  Deno.addSignalListener("SIGTERM", () => {
    setTimeout(() => Deno.exit(0), 2000); // a client still connected does not hold it up
    server.close().then(() => Deno.exit(0));
  });
  Deno.stdout.writeSync(new TextEncoder().encode(`PORT ${server.port}\n`));
}
