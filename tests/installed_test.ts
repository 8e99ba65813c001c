/** The record of which config's start installed which meters' rules (lib/state/installed.ts). */
import { deepEqual as assertEquals, ok } from "node:assert/strict";
import { stateFiles } from "../lib/state/files.ts";
import {
  dropInstalled,
  formatInstalled,
  installedFor,
  installedPath,
  isOwnRecord,
  otherConfigsRecord,
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
  // What the other source's start installed, still there after a switch of source.
  for (const left of [{ table: "walk5", columns: ["sales"] }, { chain: "DOWNLOADED", columns: ["a", "b"] }]) {
    const switched = { config: "/x.toml", columns: ["sales"], chain: "DOWNLOADED", left };
    assertEquals(parseInstalled(formatInstalled(switched)), switched);
  }
  assertEquals(parseInstalled("config\t/a.toml\ncolumns\tweb\nleft\ttable\tFOO -j\tweb\n")?.left, undefined);
});

Deno.test("former columns are the recorded ones for the same config file only, and the record names its owner", () =>
  withTempDir((dir) => {
    const files = stateFiles(dir);
    assertEquals(installedFor(files, { real: "/etc/a.toml" }), { former: new Set() });
    writeInstalled(files, { config: "/etc/a.toml", columns: ["proxy", "web"] });
    assertEquals(Deno.statSync(installedPath(files)).mode! & 0o777, 0o640);
    assertEquals(installedFor(files, { real: "/etc/a.toml" }), { former: new Set(["proxy", "web"]) });
    assertEquals(
      installedFor(files, { real: "/etc/b.toml" }),
      { former: new Set(), owner: "/etc/a.toml" },
      "another config's record says nothing of b's columns, and names a",
    );
    dropInstalled(files);
    dropInstalled(files); // already gone: nothing to do
    assertEquals(installedFor(files, { real: "/etc/a.toml" }), { former: new Set() });
    return Promise.resolve();
  }));

Deno.test("the record keeps the iptables chain; a record without one (as written before) has none", () =>
  withTempDir((dir) => {
    const record = { config: "/etc/a.toml", columns: ["web"], chain: "METERA" };
    assertEquals(parseInstalled(formatInstalled(record)), record);
    assertEquals(parseInstalled("config\t/etc/a.toml\ncolumns\tweb\n"), { config: "/etc/a.toml", columns: ["web"] });
    assertEquals(parseInstalled("config\t/etc/a.toml\nchain\t\ncolumns\tweb\n")?.chain, undefined, "empty");
    const files = stateFiles(dir);
    assertEquals(installedFor(files, { real: "/etc/a.toml" }), { former: new Set() });
    writeInstalled(files, record);
    assertEquals(installedFor(files, { real: "/etc/a.toml" }), {
      former: new Set(["web"]),
      formerChain: "METERA",
    });
    assertEquals(
      installedFor(files, { real: "/etc/b.toml" }),
      { former: new Set(), owner: "/etc/a.toml" },
      "another config's chain says nothing",
    );
    writeInstalled(files, { config: "/etc/a.toml", columns: ["web"] });
    assertEquals(installedFor(files, { real: "/etc/a.toml" }), { former: new Set(["web"]) });
    return Promise.resolve();
  }));

Deno.test("a chain the record names is taken only if a config could name it: it goes into iptables-restore input", () => {
  for (const bad of ["FOO -j ACCEPT", "-F", "1abc", "x".repeat(29), "A\u0000"]) {
    assertEquals(parseInstalled(`config\t/a.toml\nchain\t${bad}\ncolumns\tweb\n`)?.chain, undefined, bad);
  }
  assertEquals(parseInstalled("config\t/a.toml\nchain\tMETER_B-2\ncolumns\tweb\n")?.chain, "METER_B-2");
});

Deno.test("a record is a config's by its path with links resolved, or by the absolute path it was given by", () => {
  const record = { config: "/srv/rel1/netmon.toml", given: "/srv/current/netmon.toml" };
  assertEquals(isOwnRecord(record, { real: "/srv/rel1/netmon.toml" }), true);
  assertEquals(isOwnRecord(record, { real: "/srv/rel2/netmon.toml", given: "/srv/current/netmon.toml" }), true);
  assertEquals(isOwnRecord(record, { real: "/srv/rel2/netmon.toml" }), false);
  assertEquals(isOwnRecord({ config: "/etc/a.toml" }, { real: "/etc/b.toml", given: "/etc/a.toml" }), true);
  assertEquals(isOwnRecord({ config: "/etc/a.toml" }, { real: "/etc/b.toml", given: "/etc/c.toml" }), false);
  const text = formatInstalled({ ...record, columns: ["web"], chain: "X" });
  assertEquals(parseInstalled(text), { ...record, columns: ["web"], chain: "X" });
  assertEquals(parseInstalled("config\t/a.toml\ngiven\trelative.toml\ncolumns\n")?.given, undefined, "only absolute");
});

Deno.test("the report reads only the record's first lines to tell another config's: 10,000 columns are not read", () =>
  withTempDir((dir) => {
    const files = stateFiles(dir);
    assertEquals(otherConfigsRecord(files, { real: "/etc/a.toml" }), undefined, "no record");
    const columns = Array.from({ length: 10_000 }, (_, i) => `meter-number-${i}`);
    writeInstalled(files, { config: "/etc/a.toml", columns, chain: "DOWNLOADED" });
    ok(Deno.statSync(installedPath(files)).size > 100_000);
    assertEquals(otherConfigsRecord(files, { real: "/etc/a.toml" }), undefined, "its own");
    assertEquals(otherConfigsRecord(files, { real: "/etc/b.toml" }), "/etc/a.toml");
    writeInstalled(files, { config: "/etc/a.toml", given: `/${"d".repeat(4000)}/a.toml`, columns });
    assertEquals(otherConfigsRecord(files, { real: "/x", given: `/${"d".repeat(4000)}/a.toml` }), undefined);
    return Promise.resolve();
  }));

Deno.test("the record keeps the nftables table like the chain; a record without one has none", () =>
  withTempDir((dir) => {
    const record = { config: "/etc/a.toml", columns: ["web"], table: "nmold" };
    assertEquals(parseInstalled(formatInstalled(record)), record);
    assertEquals(parseInstalled("config\t/etc/a.toml\ntable\t\ncolumns\tweb\n")?.table, undefined, "empty");
    const files = stateFiles(dir);
    writeInstalled(files, record);
    assertEquals(installedFor(files, { real: "/etc/a.toml" }), { former: new Set(["web"]), formerTable: "nmold" });
    assertEquals(installedFor(files, { real: "/etc/b.toml" }), { former: new Set(), owner: "/etc/a.toml" });
    return Promise.resolve();
  }));
