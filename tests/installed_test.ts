/** The record of which config's start installed which meters' rules (lib/state/installed.ts). */
import { deepEqual as assertEquals } from "node:assert/strict";
import { stateFiles } from "../lib/state/files.ts";
import {
  dropInstalled,
  formatInstalled,
  installedFor,
  installedPath,
  parseInstalled,
  writeInstalled,
} from "../lib/state/installed.ts";
import { withTempDir } from "./helpers.ts";

Deno.test("the record's text reads back as written, and text naming no config is no record", () => {
  const record = { config: "/etc/netmon/a b.toml", columns: ["proxy", "non-network", "cust-inbound-v6"] };
  assertEquals(parseInstalled(formatInstalled(record)), record);
  assertEquals(parseInstalled(formatInstalled({ config: "/x.toml", columns: [] })), { config: "/x.toml", columns: [] });
  assertEquals(parseInstalled("columns\tproxy\n"), undefined);
  assertEquals(parseInstalled(""), undefined);
});

Deno.test("former columns are the recorded ones for the same config file only, and the record names its owner", () =>
  withTempDir((dir) => {
    const files = stateFiles(dir);
    assertEquals(installedFor(files, "/etc/a.toml"), { former: new Set() });
    writeInstalled(files, { config: "/etc/a.toml", columns: ["proxy", "web"] });
    assertEquals(Deno.statSync(installedPath(files)).mode! & 0o777, 0o640);
    assertEquals(installedFor(files, "/etc/a.toml"), { former: new Set(["proxy", "web"]), owner: "/etc/a.toml" });
    assertEquals(
      installedFor(files, "/etc/b.toml"),
      { former: new Set(), owner: "/etc/a.toml" },
      "another config's record says nothing of b's columns, and names a",
    );
    dropInstalled(files);
    dropInstalled(files); // already gone: nothing to do
    assertEquals(installedFor(files, "/etc/a.toml"), { former: new Set() });
    return Promise.resolve();
  }));

Deno.test("the record keeps the iptables chain; a record without one (as written before) has none", () =>
  withTempDir((dir) => {
    const record = { config: "/etc/a.toml", columns: ["web"], chain: "METERA" };
    assertEquals(parseInstalled(formatInstalled(record)), record);
    assertEquals(parseInstalled("config\t/etc/a.toml\ncolumns\tweb\n"), { config: "/etc/a.toml", columns: ["web"] });
    assertEquals(parseInstalled("config\t/etc/a.toml\nchain\t\ncolumns\tweb\n")?.chain, undefined, "empty");
    const files = stateFiles(dir);
    assertEquals(installedFor(files, "/etc/a.toml"), { former: new Set() });
    writeInstalled(files, record);
    assertEquals(installedFor(files, "/etc/a.toml"), {
      former: new Set(["web"]),
      formerChain: "METERA",
      owner: "/etc/a.toml",
    });
    assertEquals(
      installedFor(files, "/etc/b.toml"),
      { former: new Set(), owner: "/etc/a.toml" },
      "another config's chain says nothing",
    );
    writeInstalled(files, { config: "/etc/a.toml", columns: ["web"] });
    assertEquals(installedFor(files, "/etc/a.toml"), { former: new Set(["web"]), owner: "/etc/a.toml" });
    return Promise.resolve();
  }));

Deno.test("the record keeps the nftables table like the chain; a record without one has none", () =>
  withTempDir((dir) => {
    const record = { config: "/etc/a.toml", columns: ["web"], table: "nmold" };
    assertEquals(parseInstalled(formatInstalled(record)), record);
    assertEquals(parseInstalled("config\t/etc/a.toml\ntable\t\ncolumns\tweb\n")?.table, undefined, "empty");
    const files = stateFiles(dir);
    writeInstalled(files, record);
    assertEquals(installedFor(files, "/etc/a.toml"), {
      former: new Set(["web"]),
      formerTable: "nmold",
      owner: "/etc/a.toml",
    });
    assertEquals(installedFor(files, "/etc/b.toml"), { former: new Set(), owner: "/etc/a.toml" });
    return Promise.resolve();
  }));
