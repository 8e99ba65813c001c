import {
  parseExactJson
} from "./chunk-OGMONECO.js";
import {
  DataError,
  EX,
  NetmonError
} from "./chunk-F6H2ZAXR.js";

// lib/sources/interface.ts
function counter(obj, key, where) {
  const v = obj?.[key];
  if (typeof v !== "bigint" || v < 0n) throw new DataError(`${where}: no ${key} counter`);
  return v;
}
function parseIpLinkJson(text, where = "ip -json -statistics link") {
  let doc;
  try {
    doc = parseExactJson(text);
  } catch (err) {
    throw new DataError(`${where}: not JSON: ${err instanceof Error ? err.message : err}`);
  }
  if (!Array.isArray(doc)) throw new DataError(`${where}: expected a JSON array of links`);
  return doc.map((link, i) => {
    const name = link.ifname;
    const at = `${where}: link ${i + 1}`;
    if (typeof name !== "string" || name === "") throw new DataError(`${at}: no ifname`);
    const stats = link.stats64 ?? link.stats;
    if (!stats) throw new DataError(`${at} (${name}): no statistics; was -statistics given?`);
    const flags = Array.isArray(link.flags) ? link.flags : [];
    return {
      name,
      loopback: link.link_type === "loopback" || flags.includes("LOOPBACK"),
      rx: {
        bytes: counter(stats.rx, "bytes", `${at} rx`),
        packets: counter(stats.rx, "packets", `${at} rx`)
      },
      tx: {
        bytes: counter(stats.tx, "bytes", `${at} tx`),
        packets: counter(stats.tx, "packets", `${at} tx`)
      }
    };
  });
}
var InterfaceSource = class {
  config;
  run;
  name;
  warnings;
  constructor(config, run) {
    this.config = config;
    this.run = run;
    this.name = "interface";
    this.warnings = [];
  }
  /** The metered links, in name order. */
  async links() {
    const { stdout } = await this.run(this.config.binaries.ip, [
      "-json",
      "-statistics",
      "link",
      "show"
    ]);
    const all = parseIpLinkJson(stdout, `${this.config.binaries.ip} -json -statistics link`);
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
    return links.sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  }
  planStart() {
    return Promise.resolve({
      notes: [
        "the interface source reads the kernel's own counters: nothing to install"
      ],
      commands: []
    });
  }
  planStop() {
    return Promise.resolve({
      notes: [
        "the interface source installs nothing: nothing to remove"
      ],
      commands: []
    });
  }
  async read() {
    const bytes = /* @__PURE__ */ new Map();
    const packets = /* @__PURE__ */ new Map();
    for (const l of await this.links()) {
      bytes.set(`${l.name}:rx`, l.rx.bytes);
      bytes.set(`${l.name}:tx`, l.tx.bytes);
      packets.set(`${l.name}:rx`, l.rx.packets);
      packets.set(`${l.name}:tx`, l.tx.packets);
    }
    return {
      bytes,
      packets
    };
  }
  async status() {
    return (await this.links()).flatMap((l) => [
      {
        meter: `${l.name}:rx`,
        where: `${l.name} received`,
        installed: true,
        packets: l.rx.packets,
        bytes: l.rx.bytes
      },
      {
        meter: `${l.name}:tx`,
        where: `${l.name} transmitted`,
        installed: true,
        packets: l.tx.packets,
        bytes: l.tx.bytes
      }
    ]);
  }
};
export {
  InterfaceSource,
  parseIpLinkJson
};
