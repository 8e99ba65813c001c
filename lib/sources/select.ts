/**
 * Picks the counter source a config names.
 *
 * @module
 */

import type { Runner } from "../command.ts";
import type { Config } from "../config.ts";
import { InterfaceSource } from "./interface.ts";
import { IptablesSource } from "./iptables.ts";
import { NftablesSource } from "./nftables.ts";
import { PfSource } from "./pf.ts";
import type { CounterSource } from "./source.ts";

/** The source for `config`, running programs through `run`. */
export function selectSource(config: Config, run: Runner): CounterSource {
  switch (config.source) {
    case "iptables":
      return new IptablesSource(config, run);
    case "interface":
      return new InterfaceSource(config, run);
    case "nftables":
      return new NftablesSource(config, run);
    case "pf":
      return new PfSource(config, run);
  }
}
