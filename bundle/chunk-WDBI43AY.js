// lib/sources/select.ts
async function selectSource(config, run) {
  switch (config.source) {
    case "iptables":
      return new (await import("./iptables-YW4S4L6X.js")).IptablesSource(config, run);
    case "interface":
      return new (await import("./interface-CPB6LF2W.js")).InterfaceSource(config, run);
    case "nftables":
      return new (await import("./nftables-NSC4WMFI.js")).NftablesSource(config, run);
    case "pf":
      return new (await import("./pf-HEZ6OT6H.js")).PfSource(config, run);
  }
}

export {
  selectSource
};
