/**
 * The interface source: every network interface's received and transmitted
 * bytes from the kernel, via `ip -json -statistics link` (no root needed and,
 * unlike `/proc/net/dev`, no `--allow-all` under Deno). Each interface gives
 * two meters, `NAME:rx` and `NAME:tx`.
 *
 * @module
 */

import type { Runner } from "../host/run.ts";
import type { Config } from "../config/config.ts";
import { DataError, EX, NetmonError } from "../host/errors.ts";
import { parseExactJson } from "../host/json.ts";
import type { CounterSource, MeterStatus, Plan, Reading } from "./source.ts";

/** One interface's counters. */
export interface LinkCounters {
  /** Interface name. */
  name: string;
  /** True for the loopback device. */
  loopback: boolean;
  /** The kernel's index of the device: a device deleted and made again gets a new one. */
  ifindex?: number;
  /** Bytes and packets received. */
  rx: { bytes: bigint; packets: bigint };
  /** Bytes and packets transmitted. */
  tx: { bytes: bigint; packets: bigint };
}

function counter(obj: unknown, key: string, where: string): bigint {
  const v = (obj as Record<string, unknown> | undefined)?.[key];
  if (typeof v !== "bigint" || v < 0n) throw new DataError(`${where}: no ${key} counter`);
  return v;
}

/**
 * Parses `ip -json -statistics link` output. Counters are read from
 * `stats64`, or `stats` on kernels without 64-bit statistics.
 *
 * @example
 * ```ts
 * const links = parseIpLinkJson('[{"ifname":"eth0","flags":[],"stats64":{"rx":{"bytes":5,"packets":1},"tx":{"bytes":7,"packets":1}}}]');
 * links[0]?.rx.bytes; // 5n
 * ```
 */
export function parseIpLinkJson(text: string, where = "ip -json -statistics link"): LinkCounters[] {
  let doc: unknown;
  try {
    // ip prints a control character in an interface name raw, which JSON does not allow in a string: escape it
    // (names hold no tab, LF or CR, and outside strings ip writes only spaces and LFs).
    const escaped = text.replace(
      // deno-lint-ignore no-control-regex
      /[\x00-\x08\x0b\x0c\x0e-\x1f]/g,
      (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
    );
    doc = parseExactJson(escaped);
  } catch (err) {
    throw new DataError(`${where}: not JSON: ${err instanceof Error ? err.message : err}`);
  }
  if (!Array.isArray(doc)) throw new DataError(`${where}: expected a JSON array of links`);
  return doc.map((link: Record<string, unknown>, i) => {
    const name = link.ifname;
    const at = `${where}: link ${i + 1}`;
    if (typeof name !== "string" || name === "") throw new DataError(`${at}: no ifname`);
    const stats = (link.stats64 ?? link.stats) as Record<string, unknown> | undefined;
    if (!stats) throw new DataError(`${at} (${name}): no statistics; was -statistics given?`);
    const flags = Array.isArray(link.flags) ? link.flags : [];
    const ifindex = link.ifindex;
    return {
      name,
      ...(typeof ifindex === "bigint" ? { ifindex: Number(ifindex) } : {}),
      loopback: link.link_type === "loopback" || flags.includes("LOOPBACK"),
      rx: { bytes: counter(stats.rx, "bytes", `${at} rx`), packets: counter(stats.rx, "packets", `${at} rx`) },
      tx: { bytes: counter(stats.tx, "bytes", `${at} tx`), packets: counter(stats.tx, "packets", `${at} tx`) },
    };
  });
}

/** The kernel's interface counters as a source. */
export class InterfaceSource implements CounterSource {
  readonly name = "interface";
  readonly warnings: string[] = [];
  constructor(private readonly config: Config, private readonly run: Runner) {}

  /** The metered links, in name order. */
  private async links(): Promise<LinkCounters[]> {
    const { stdout } = await this.run(this.config.binaries.ip, ["-json", "-statistics", "link", "show"]);
    const listed = parseIpLinkJson(stdout, `${this.config.binaries.ip} -json -statistics link`);
    // A name with a control character cannot be a log column: that interface alone is left out, and said.
    // deno-lint-ignore no-control-regex
    const unusable = (l: LinkCounters) => /[\x00-\x1f\x7f]/.test(l.name);
    for (const l of listed.filter(unusable)) {
      this.warnings.push(
        `interface ${JSON.stringify(l.name)} has a control character in its name: not metered ` +
          "(rename it with 'ip link set dev OLD name NEW')",
      );
    }
    const all = listed.filter((l) => !unusable(l));
    const wanted = this.config.interfaces;
    let links = all.filter((l) => !l.loopback);
    if (wanted) {
      const missing = wanted.filter((w) => !all.some((l) => l.name === w));
      if (missing.length > 0) {
        throw new NetmonError(`interface ${missing.join(", ")} not found (config key interfaces)`, EX.UNAVAILABLE);
      }
      links = all.filter((l) => wanted.includes(l.name));
    }
    if (links.length === 0) throw new NetmonError("no network interface to meter but loopback", EX.UNAVAILABLE);
    return links.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  planStart(): Promise<Plan> {
    return Promise.resolve({
      notes: ["the interface source reads the kernel's own counters: nothing to install"],
      commands: [],
    });
  }

  planStop(): Promise<Plan> {
    return Promise.resolve({ notes: ["the interface source installs nothing: nothing to remove"], commands: [] });
  }

  async read(): Promise<Reading> {
    const bytes = new Map<string, bigint>();
    const packets = new Map<string, bigint>();
    const identities = new Map<string, string>();
    for (const l of await this.links()) {
      bytes.set(`${l.name}:rx`, l.rx.bytes);
      bytes.set(`${l.name}:tx`, l.tx.bytes);
      packets.set(`${l.name}:rx`, l.rx.packets);
      packets.set(`${l.name}:tx`, l.tx.packets);
      if (l.ifindex !== undefined) {
        identities.set(`${l.name}:rx`, String(l.ifindex));
        identities.set(`${l.name}:tx`, String(l.ifindex));
      }
    }
    return { bytes, packets, identities, identityReason: "interface re-created" };
  }

  async status(): Promise<MeterStatus[]> {
    return (await this.links()).flatMap((l) => [
      { meter: `${l.name}:rx`, where: `${l.name} received`, installed: true, packets: l.rx.packets, bytes: l.rx.bytes },
      {
        meter: `${l.name}:tx`,
        where: `${l.name} transmitted`,
        installed: true,
        packets: l.tx.packets,
        bytes: l.tx.bytes,
      },
    ]);
  }
}
