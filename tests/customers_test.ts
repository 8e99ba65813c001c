/**
 * `[billing]` and `[[customer]]`: sizes and rates with units, thresholds,
 * recipients, time zones, and the roll-up of meters into a customer's in and
 * out columns. In-process; the CLI's exit status for a bad config is in
 * bad_input_test.ts.
 *
 * @module
 */

import { deepEqual as assertEquals, ok, throws } from "node:assert/strict";
import { parseConfig } from "../lib/config/config.ts";
import { customerColumns, type CustomerSpec, parseBytes, parseRate, SUFFIXES } from "../lib/config/customers.ts";
import { allColumns, type Column, type Meter } from "../lib/config/meters.ts";
import { netmon, withTempDir } from "./helpers.ts";
import { seededRandom } from "./random.ts";

const THREE = `source = "nftables"
[[meter]]
name = "acme"
address = ["192.0.2.0/28", "2001:db8:1::/48"]
split = "direction"
[[meter]]
name = "globex"
address = "198.51.100.0/28"
split = "direction"
[[meter]]
name = "initech"
address = "203.0.113.0/28"
direction = "in"
[[meter]]
name = "box"
direction = "in"
split = "family"
`;

Deno.test("sizes: 1024-based with KiB..PiB, 1000-based with kB..PB, decimals exact; a size needs its unit", () => {
  assertEquals(parseBytes("500 GiB"), 500n << 30n);
  assertEquals(parseBytes("2TB"), 2_000_000_000_000n);
  assertEquals(parseBytes("1.5 TiB"), 3n << 39n);
  assertEquals(parseBytes("16 EiB").toString().startsWith('"16 EiB" is not a size'), true);
  for (const bad of ["500", "500 G", "GiB", "-1 GiB", "1e3 GiB"]) {
    assertEquals(typeof parseBytes(bad), "string", bad);
  }
  assertEquals(parseRate("100 Mbit/s"), 100e6);
  assertEquals(parseRate("2.5 Gbit/s"), 2.5e9);
  assertEquals(typeof parseRate("100 Mbps"), "string");
});

Deno.test("customers: a split meter gives in and out, one-direction meters count that way, several add up", () => {
  const c = parseConfig(
    THREE + `[billing]
cycle_day = 15
timezone = "Europe/Berlin"
[[customer]]
name = "acme"
quota = "500 GiB"
alert_at = [100, 80]
alert_to = "noc@acme.example"
[[customer]]
name = "rest"
meters = ["globex", "initech"]
cycle_day = 31
timezone = "UTC"
commit = "100 Mbit/s"
[[customer]]
name = "box"
meters = ["box"]
`,
    "c.toml",
  );
  assertEquals(c.billing, { cycleDay: 15, timeZone: "Europe/Berlin" });
  assertEquals(c.customers[0], {
    name: "acme",
    meters: ["acme"],
    metersOmitted: true, // a problem with them names `name`, the key written
    billing: { cycleDay: 15, timeZone: "Europe/Berlin" },
    quota: { bytes: 500n << 30n, count: "total", alertAt: [80, 100], alertProjected: false },
    alertTo: ["noc@acme.example"],
  });
  assertEquals(c.customers[1]?.billing, { cycleDay: 31, timeZone: "UTC" });
  assertEquals(c.customers[1]?.commit, { bps: 100e6, alertAt: [80, 100] });
  assertEquals(customerColumns(c.customers, allColumns(c.meters)), [
    { name: "acme", in: ["acme-inbound"], out: ["acme-outbound"], both: [] },
    { name: "rest", in: ["globex-inbound", "initech"], out: ["globex-outbound"], both: [] },
    { name: "box", in: ["box-v4", "box-v6"], out: [], both: [] },
  ]);
});

Deno.test("customers over log columns alone: interfaces' rx and tx, the original's columns, and * for all", () => {
  const cols = ["eth0:rx", "eth0:tx", "proxy", "non-network"].map((name) => ({ name, label: name }));
  assertEquals(
    customerColumns([
      { name: "uplink", meters: ["eth0"], billing: { cycleDay: 1 } },
      { name: "all", meters: ["*"], billing: { cycleDay: 1 } },
    ], cols),
    [
      { name: "uplink", in: ["eth0:rx"], out: ["eth0:tx"], both: [] },
      { name: "all", in: ["eth0:rx"], out: ["eth0:tx"], both: ["proxy", "non-network"] },
    ],
  );
  throws(
    () => customerColumns([{ name: "acme", meters: ["acme-in"], billing: { cycleDay: 1 } }], cols, "netmon.log"),
    /^CustomerMatchError: netmon\.log: customer\[1\]\.meters\[1\]: "acme-in" matches no meter or column/,
  );
});

/** The log's columns `names`, each the config's column of that name (with its meter) if it has one, as the summary has them. */
function logColumnsOf(names: readonly string[], meters: readonly Meter[]): Column[] {
  const configured = new Map(allColumns(meters).map((c) => [c.name, c]));
  return names.map((name) => configured.get(name) ?? { name, label: name });
}

const customer = (name: string, meters = [name]): CustomerSpec => ({ name, meters, billing: { cycleDay: 1 } });

/** Meter acme split by direction, and a meter of its own named like a column of acme's with a suffix. */
const SPLIT_ACME = `source = "nftables"
[[meter]]
name = "acme"
address = "192.0.2.0/28"
split = "direction"
[[meter]]
name = "acme-v6"
address = "2001:db8:1::/48"
`;
const UNSPLIT_ACME = SPLIT_ACME.replace('split = "direction"\n', "");

Deno.test("a meter split by direction within the log is all its columns, before and after; another meter named like one is not", () => {
  const split = parseConfig(SPLIT_ACME, "c.toml").meters;
  // Undirected, then split: the log has acme, then acme-inbound and acme-outbound.
  const history = ["acme", "acme-v6", "acme-inbound", "acme-outbound"];
  const specs = [customer("acme"), customer("all", ["*"]), customer("v6", ["acme-v6"])];
  assertEquals(customerColumns(specs, logColumnsOf(history, split)), [
    { name: "acme", in: ["acme-inbound"], out: ["acme-outbound"], both: ["acme"] },
    { name: "all", in: ["acme-inbound"], out: ["acme-outbound"], both: ["acme", "acme-v6"] },
    { name: "v6", in: [], out: [], both: ["acme-v6"] },
  ]);
  // Split, then undirected again: the old split columns are acme's too.
  const unsplit = parseConfig(UNSPLIT_ACME, "c.toml").meters;
  const back = ["acme-inbound", "acme-outbound", "acme-v6", "acme"];
  assertEquals(customerColumns([customer("acme")], logColumnsOf(back, unsplit)), [
    { name: "acme", in: ["acme-inbound"], out: ["acme-outbound"], both: ["acme"] },
  ]);
  // Over the config's own columns: acme is its split columns, not the meter acme-v6's column.
  assertEquals(customerColumns([customer("acme")], allColumns(split)), [
    { name: "acme", in: ["acme-inbound"], out: ["acme-outbound"], both: [] },
  ]);
  // A meter acme-inbound split by family (acme-inbound-v4, -v6) is not acme's either, in the log or the config.
  const family = parseConfig(
    SPLIT_ACME +
      '[[meter]]\nname = "acme-inbound"\naddress = ["203.0.113.0/28", "2001:db8:2::/48"]\nsplit = "family"\n',
    "c.toml",
  ).meters;
  const withFamily = [...history, "acme-inbound-v4", "acme-inbound-v6"];
  for (const columns of [logColumnsOf(withFamily, family), allColumns(family)]) {
    assertEquals(customerColumns([customer("acme")], columns)[0]?.both.includes("acme-inbound-v4"), false);
    assertEquals(customerColumns([customer("acme")], columns)[0]?.in, ["acme-inbound"]);
  }
  // Without a meter of the name, its suffixed columns are all its: acme over meters acme-v4 and acme-v6.
  const byHand = parseConfig(
    'source = "nftables"\n[[meter]]\nname = "acme-v4"\naddress = "192.0.2.0/28"\n' +
      '[[meter]]\nname = "acme-v6"\naddress = "2001:db8:1::/48"\n',
    "c.toml",
  ).meters;
  assertEquals(customerColumns([customer("acme")], allColumns(byHand)), [
    { name: "acme", in: [], out: [], both: ["acme-v4", "acme-v6"] },
  ]);
});

Deno.test("the columns the tally has counted are matched beside the config's: a split meter's old column, by name", () => {
  const split = parseConfig(SPLIT_ACME, "c.toml").meters;
  // A report: the config's columns, then those only the tally has (in whatever order it keeps them).
  for (const past of [["acme", "gone", "acme-inbound"], ["gone", "acme"]]) {
    assertEquals(customerColumns([customer("acme"), customer("all", ["*"])], allColumns(split), "c.toml", past), [
      { name: "acme", in: ["acme-inbound"], out: ["acme-outbound"], both: ["acme"] },
      { name: "all", in: ["acme-inbound"], out: ["acme-outbound"], both: ["acme-v6", "acme", "gone"] },
    ]);
  }
  throws(
    () => customerColumns([customer("acme-in")], allColumns(split), "c.toml", ["acme"]),
    /"acme-in" matches no meter or column \(columns: acme-inbound, acme-outbound, acme-v6, acme\)$/,
  );
});

/** The match before the log's history was matched: the column of the name, else the columns of the name with a suffix. */
function columnOrSuffixed(m: string, names: readonly string[]): string[] {
  if (m === "*") return [...names];
  if (names.includes(m)) return [m];
  return SUFFIXES.map((s) => m + s).filter((n) => names.includes(n));
}

Deno.test("over the config's columns alone, a name matches what it did: its column, else its meter's split columns (300 configs)", () => {
  const random = seededRandom("customer columns of the config");
  const pool = ["acme", "acme-v6", "acme-inbound", "acme-outbound-v4", "acme-in", "eth0", "eth0-v4"];
  const splits = ["", 'split = "direction"\n', 'split = "family"\n', 'split = ["direction", "family"]\n'];
  let compared = 0, contested = 0;
  for (let run = 0; run < 300; run++) {
    let text = 'source = "nftables"\n';
    pool.forEach((name, k) => {
      if (random() < 0.4) return;
      const address = `["192.0.2.${16 * k}/28", "2001:db8:${k + 1}::/48"]`;
      text += `[[meter]]\nname = "${name}"\naddress = ${address}\n${splits[Math.floor(random() * 4)]}`;
    });
    let meters: Meter[];
    try {
      meters = parseConfig(text, "c.toml").meters;
    } catch {
      continue; // two meters writing one column: not a config
    }
    const columns = allColumns(meters);
    const names = columns.map((c) => c.name);
    for (const m of [...pool, ...names, "*"]) {
      const before = columnOrSuffixed(m, names);
      let got: string[] = [];
      try {
        const [c] = customerColumns([customer("x", [m])], columns);
        got = [...c!.in, ...c!.out, ...c!.both];
      } catch {
        got = [];
      }
      // The one change: where the config has a split meter of the name (and no column of it), another meter's column
      // is not the name's.
      const mine = !names.includes(m) && columns.some((c) => c.meter === m);
      const want = mine ? before.filter((n) => columns.find((c) => c.name === n)?.meter === m) : before;
      if (want.length !== before.length) contested++;
      assertEquals([...got].sort(), [...want].sort(), `${m} over ${names.join(", ")}`);
      compared++;
    }
  }
  ok(compared > 1000 && contested > 20, `names compared: ${compared}, with another meter's column: ${contested}`);
});

/** Each mistake that costs money is one line naming the key. */
const BAD: [string, string, RegExp][] = [
  [
    "a quota without a unit",
    '[[customer]]\nname = "acme"\nquota = "500"\n',
    /customer\[1\]\.quota: "500" is not a size/,
  ],
  [
    "a threshold of 0",
    '[[customer]]\nname = "acme"\nquota = "1 GiB"\nalert_at = [0]\n',
    /customer\[1\]\.alert_at\[1\]: 0 must be a percentage above 0/,
  ],
  [
    "a threshold above 1000",
    '[[customer]]\nname = "acme"\nquota = "1 GiB"\nalert_at = [80, 1001]\n',
    /customer\[1\]\.alert_at\[2\]: 1001 must be/,
  ],
  [
    "alert_to not an address",
    '[[customer]]\nname = "acme"\nquota = "1 GiB"\nalert_to = "-oQ/tmp/x"\n',
    /customer\[1\]\.alert_to: "-oQ\/tmp\/x" is not a mail address/,
  ],
  ["a cycle day of 0", "[billing]\ncycle_day = 0\n", /billing\.cycle_day: 0 must be a day of the month, 1 to 31/],
  ["a cycle day of 32", '[[customer]]\nname = "acme"\ncycle_day = 32\n', /customer\[1\]\.cycle_day: 32 must be a day/],
  [
    "an unknown time zone",
    '[billing]\ntimezone = "Mars/Olympus"\n',
    /billing\.timezone: "Mars\/Olympus" is not a time zone/,
  ],
  [
    "a customer of no meter",
    '[[customer]]\nname = "acme"\nmeters = ["acme-in"]\n',
    /customer\[1\]\.meters\[1\]: "acme-in" matches no meter or column \(columns: acme-inbound, acme-outbound/,
  ],
  [
    "two customers of one name",
    '[[customer]]\nname = "acme"\n[[customer]]\nname = "ACME"\nmeters = ["globex"]\n',
    /customer\[2\]\.name: "ACME" is already the name of customer\[1\]/,
  ],
  [
    "alert_at without a quota",
    '[[customer]]\nname = "acme"\nalert_at = [50]\n',
    /customer\[1\]\.alert_at: needs a quota or a commit/,
  ],
];

for (const [what, text, line] of BAD) {
  Deno.test(`bad customer config: ${what} is one line naming the key`, () => {
    throws(() => parseConfig(THREE + text, "c.toml"), (e: Error) => {
      const lines = e.message.split("\n");
      if (lines.length !== 1 || !line.test(lines[0] as string) || !lines[0]!.startsWith("c.toml")) {
        throw new Error(`got ${JSON.stringify(e.message)}`);
      }
      return e.name === "ConfigError";
    });
  });
}

Deno.test("[mail] send with an unknown word is one line naming the key", () => {
  throws(
    () => parseConfig('[mail]\nto = "a@example.org"\nfrom = "n@example.org"\nsend = ["daily", "weekly"]\n', "c.toml"),
    (e: Error) => {
      if (e.message !== 'c.toml: mail.send: "weekly" is not one of report, daily, cycle') throw new Error(e.message);
      return e.name === "ConfigError";
    },
  );
});

Deno.test("bad quota config from the command line: exit 78, one line per problem naming the key, nothing done", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(
      `${dir}/netmon.toml`,
      'source = "interface"\n[[customer]]\nname = "acme"\nmeters = ["*"]\nquota = "500"\nalert_at = [0, 80, 1001]\n' +
        'alert_to = "noc"\n[mail]\nto = "ops@example.org"\nfrom = "n@example.org"\nsend = "hourly"\n',
    );
    for (const command of ["report", "check"]) {
      const r = await netmon([command, "-c", `${dir}/netmon.toml`, "-s", `${dir}/state`], { dirs: [dir] });
      const lines = r.stderr.trimEnd().split("\n");
      // check is a monitoring plugin: a config it cannot read is UNKNOWN (3) on stdout, the first problem named.
      if (command === "check") {
        assertEquals([r.code, r.stdout.split(" - ")[0]], [3, "NETMON UNKNOWN"]);
        continue;
      }
      assertEquals(r.code, 78, r.stderr);
      // In the order of the file.
      assertEquals(lines.map((l) => l.replace(`${dir}/`, "")), [
        'netmon: netmon.toml: customer[1].quota: "500" is not a size with a unit, like "500 GiB" (B, KiB, MiB, GiB, ' +
        "TiB, PiB; kB, MB, GB, TB, PB are powers of 1000)",
        "netmon: netmon.toml: customer[1].alert_at[1]: 0 must be a percentage above 0 and at most 1000",
        "netmon: netmon.toml: customer[1].alert_at[3]: 1001 must be a percentage above 0 and at most 1000",
        'netmon: netmon.toml: customer[1].alert_to: "noc" is not a mail address like billing@example.org',
        'netmon: netmon.toml: mail.send: "hourly" is not one of report, daily, cycle',
      ]);
      assertEquals(r.stdout, "");
      ok(!existsSync(`${dir}/state`), "nothing done");
    }
  });
});

function existsSync(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}
