/**
 * Picks the counter source a config names. Each source's module is loaded
 * only when the config names it: a report pays for one source's code, not
 * four.
 *
 * @module
 */

import type { Runner } from "../host/run.ts";
import type { Config } from "../config/config.ts";
import type { CounterSource } from "./source.ts";

/** The source for `config`, running programs through `run`. */
export async function selectSource(config: Config, run: Runner): Promise<CounterSource> {
  switch (config.source) {
    case "iptables":
      return new (await import("./iptables.ts")).IptablesSource(config, run);
    case "interface":
      return new (await import("./interface.ts")).InterfaceSource(config, run);
    case "nftables":
      return new (await import("./nftables.ts")).NftablesSource(config, run);
    case "pf":
      return new (await import("./pf.ts")).PfSource(config, run);
  }
}
