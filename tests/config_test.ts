import { deepEqual as assertEquals, ok, throws } from "node:assert/strict";
import { parseConfig } from "../lib/config/config.ts";
import { ConfigError, UsageError } from "../lib/host/errors.ts";
import { parseCommandLine } from "../lib/cli/commands.ts";

const original = Deno.readTextFileSync(new URL("../examples/original.toml", import.meta.url));

Deno.test("examples/original.toml is the 2010 setup", () => {
  const c = parseConfig(original, "original.toml");
  assertEquals([c.source, c.chain], ["iptables", "DOWNLOADED"]);
  assertEquals(
    c.meters.map((m) => [m.name, m.label, m.hooks, m.from, m.families]),
    [
      ["proxy", "Proxied", ["INPUT"], { negated: false, v4: ["192.168.1.10/32"], v6: [] }, [4]],
      ["non-network", "Off Network", ["INPUT"], { negated: true, v4: ["192.168.1.0/24"], v6: [] }, [4]],
    ],
  );
  assertEquals(c.binaries.iptables, "/usr/sbin/iptables");
});

Deno.test("every field is read, defaults fill the rest", () => {
  const c = parseConfig(
    `chain = "NETMON"
state_dir = "/srv/netmon"
wait = 3
[binaries]
iptables = "/sbin/iptables-legacy"
[[meter]]
name = "acme-out"
label = "ACME upload"
hook = "forward"
to = "!203.0.113.0/24"
in = "eth+"
out = "!eth0"
`,
    "f.toml",
  );
  assertEquals([c.chain, c.stateDir, c.wait, c.binaries.iptables, c.binaries.ip], [
    "NETMON",
    "/srv/netmon",
    3,
    "/sbin/iptables-legacy",
    "/usr/sbin/ip",
  ]);
  const m = c.meters[0]!;
  assertEquals([m.label, m.hooks, m.to, m.in, m.out], [
    "ACME upload",
    ["FORWARD"],
    { negated: true, v4: ["203.0.113.0/24"], v6: [] },
    { negated: false, name: "eth+" },
    { negated: true, name: "eth0" },
  ]);
});

Deno.test("a meter named like an Object property (toString, constructor) is labelled with its name", () => {
  const c = parseConfig(
    '[[meter]]\nname = "toString"\nfrom = "192.0.2.1"\n[[meter]]\nname = "constructor"\nfrom = "192.0.2.2"\n',
    "c.toml",
  );
  assertEquals(c.meters.map((m) => m.label), ["toString", "constructor"]);
});

/** Each bad config gives exactly these lines. */
const BAD: [string, string, RegExp][] = [
  [
    "TOML syntax",
    'source = "iptables\n',
    /^c\.toml:1:\d+: invalid TOML: unterminated string \(the closing quote is missing\)$/,
  ],
  ["TOML nested too deep", `a = ${"[".repeat(10000)}${"]".repeat(10000)}\n`, /^c\.toml:1:\d+: invalid TOML: .*nested/],
  ["TOML defined twice", 'chain = "A"\nchain = "B"\n', /^c\.toml:2:1: invalid TOML: .*already defined/],
  ["unknown key close to one", 'sorce = "iptables"\n', /^c\.toml: sorce: unknown key \(did you mean "source"\?\)$/],
  ["unknown key far from all", "colour = 3\n", /^c\.toml: colour: unknown key \(known keys: source, .*, postgresql\)$/],
  [
    "unknown meter key",
    'source = "nftables"\n[[meter]]\nname = "a"\nadress = "192.0.2.0/28"\n',
    /^c\.toml: meter\[1\]\.adress: unknown key \(did you mean "address"\?\)$/,
  ],
  [
    "unknown mail key",
    'source = "interface"\n[mail]\nto = "a@example.org"\nfrom = "b@example.org"\nsever = "192.0.2.25"\n',
    /^c\.toml: mail\.sever: unknown key \(did you mean "server"\?\)$/,
  ],
  [
    "unknown binaries key",
    '[binaries]\niptables_sav = "/sbin/x"\n[[meter]]\nname = "a"\n',
    /^c\.toml: binaries\.iptables_sav: unknown key \(did you mean "iptables_save"\?\)$/,
  ],
  [
    "an address with host bits",
    '[[meter]]\nname = "a"\nfrom = "203.0.113.5/28"\n',
    /^c\.toml: meter\[1\]\.from: "203\.0\.113\.5\/28" has host bits set under its \/28: did you mean the network 203\.0\.113\.0\/28, or the one address 203\.0\.113\.5\?$/,
  ],
  [
    "two customers sharing a network",
    'source = "nftables"\n[[meter]]\nname = "a"\naddress = ["192.0.2.0/28", "2001:db8:1::/48"]\n' +
    '[[meter]]\nname = "b"\naddress = ["198.51.100.0/24", "192.0.2.8/29"]\n',
    /^c\.toml: meter\[2\]\.address: 192\.0\.2\.8\/29 overlaps 192\.0\.2\.0\/28 of meter "a": traffic in both would be counted \(and billed\) twice; correct the networks, or set overlap = true on one of the two meters if that is intended$/,
  ],
  [
    "overlap not a boolean",
    'source = "nftables"\n[[meter]]\nname = "a"\naddress = "192.0.2.0/28"\noverlap = "yes"\n',
    /^c\.toml: meter\[1\]\.overlap: must be true or false, not yes$/,
  ],
  [
    "unknown source",
    'source = "ipfw"\n',
    /^c\.toml: source: "ipfw" is not a known source \(iptables, interface, nftables, pf\)$/,
  ],
  ["wrong type", "source = 3\n", /^c\.toml: source: must be a string, not 3$/],
  ["no meters", 'source = "iptables"\n', /^c\.toml: meter: source = "iptables" needs at least one \[\[meter\]\]/],
  [
    "injection in an address",
    '[[meter]]\nname = "a"\nfrom = "192.0.2.1; reboot"\n',
    /^c\.toml: meter\[1\]\.from: "192\.0\.2\.1; reboot" is not an IPv4/,
  ],
  [
    "command substitution",
    '[[meter]]\nname = "a"\nto = "$(id)"\n',
    /^c\.toml: meter\[1\]\.to: "\$\(id\)" is not an IPv4/,
  ],
  [
    "backticks in a name",
    '[[meter]]\nname = "`id`"\n',
    /^c\.toml: meter\[1\]\.name: "`id`" is not a usable meter name/,
  ],
  [
    "newline in a name",
    '[[meter]]\nname = "a\\n-j ACCEPT"\n',
    /^c\.toml: meter\[1\]\.name: "a\\n-j ACCEPT" contains a control character/,
  ],
  [
    "bad interface",
    '[[meter]]\nname = "a"\nin = "eth0 -j DROP"\n',
    /^c\.toml: meter\[1\]\.in: "eth0 -j DROP" is not an interface name/,
  ],
  [
    "overlong interface",
    '[[meter]]\nname = "a"\nin = "abcdefghijklmnop"\n',
    /^c\.toml: meter\[1\]\.in: .* is not an interface name/,
  ],
  ["bad chain", 'chain = "ACCEPT"\n[[meter]]\nname = "a"\n', /^c\.toml: chain: "ACCEPT" is not a usable chain name/],
  [
    "overlong chain",
    `chain = "${"C".repeat(29)}"\n[[meter]]\nname = "a"\n`,
    /^c\.toml: chain: .* is not a usable chain name/,
  ],
  [
    "bad hook",
    '[[meter]]\nname = "a"\nhook = "PREROUTING"\n',
    /^c\.toml: meter\[1\]\.hook: "PREROUTING" is not one of INPUT, OUTPUT, FORWARD$/,
  ],
  [
    "duplicate meter",
    '[[meter]]\nname = "a"\n[[meter]]\nname = "A"\n',
    /^c\.toml: meter\[2\]\.name: "A" is already the name of meter\[1\]$/,
  ],
  [
    "relative binary",
    '[binaries]\niptables = "iptables"\n[[meter]]\nname = "a"\n',
    /^c\.toml: binaries\.iptables: "iptables" must be an absolute path/,
  ],
  [
    "out on INPUT",
    '[[meter]]\nname = "a"\nout = "eth0"\n',
    /^c\.toml: meter\[1\]\.out: an INPUT rule has no output interface$/,
  ],
  [
    "two networks excluded in one iptables rule",
    '[[meter]]\nname = "a"\nfrom = ["!192.0.2.0/25", "!192.0.2.128/26"]\n',
    /^c\.toml: meter\[1\]\.from: an iptables rule can exclude one network per family, not 2: use one wider CIDR or source = "nftables"$/,
  ],
  [
    "meters on the interface source",
    'source = "interface"\n[[meter]]\nname = "a"\n',
    /^c\.toml: meter: meters need a firewall source/,
  ],
  ["bad wait", 'wait = -1\n[[meter]]\nname = "a"\n', /^c\.toml: wait: -1 must be a whole number/],
  [
    "mixed negation in a list",
    '[[meter]]\nname = "a"\nfrom = ["192.0.2.1", "!192.0.2.2"]\n',
    /^c\.toml: meter\[1\]\.from: mixes negated \(!\) and plain networks/,
  ],
  [
    "overlapping networks",
    '[[meter]]\nname = "a"\nto = ["192.0.2.0/24", "192.0.2.128/25"]\n',
    /^c\.toml: meter\[1\]\.to: 192\.0\.2\.0\/24 and 192\.0\.2\.128\/25 overlap: traffic in both would be counted twice/,
  ],
  [
    "a family with no network on one side",
    '[[meter]]\nname = "a"\nfrom = ["192.0.2.1", "2001:db8::1"]\nto = "198.51.100.0/24"\n',
    /^c\.toml: meter\[1\]\.to: has no IPv6 network but the meter counts IPv6 \(another key has one\): add one, or set family$/,
  ],
  [
    "address with from",
    '[[meter]]\nname = "a"\naddress = "192.0.2.1"\nfrom = "192.0.2.2"\n',
    /^c\.toml: meter\[1\]\.address: counts traffic to and from the address, so from and to do not go with it/,
  ],
  [
    "bad direction",
    '[[meter]]\nname = "a"\naddress = "192.0.2.1"\ndirection = "up"\n',
    /meter\[1\]\.direction: "up" is not one of in, out, both$/,
  ],
  [
    "bad family",
    '[[meter]]\nname = "a"\nfamily = "ipv5"\n',
    /meter\[1\]\.family: "ipv5" is not one of ipv4, ipv6, both$/,
  ],
  [
    "bad split",
    '[[meter]]\nname = "a"\nsplit = ["colour"]\n',
    /meter\[1\]\.split: "colour" is not one of direction, family$/,
  ],
  [
    "split direction with no direction",
    '[[meter]]\nname = "a"\nsplit = "direction"\n',
    /meter\[1\]\.split: "direction" needs direction/,
  ],
  [
    "a split column that is another meter's name",
    '[[meter]]\nname = "a"\nfrom = ["192.0.2.1", "2001:db8::1"]\nsplit = "family"\n[[meter]]\nname = "a-v6"\n',
    /^c\.toml: meter a-v6: its column "a-v6" is also a column of meter "a": rename one$/,
  ],
  ["empty list", '[[meter]]\nname = "a"\nfrom = []\n', /^c\.toml: meter\[1\]\.from: is an empty list/],
  [
    "injection in a list",
    '[[meter]]\nname = "a"\nto = ["192.0.2.1", "$(reboot)"]\n',
    /^c\.toml: meter\[1\]\.to\[2\]: "\$\(reboot\)" is not an IPv4/,
  ],
  [
    "bad nft table",
    'source = "nftables"\ntable = "a b"\n[[meter]]\nname = "a"\n',
    /^c\.toml: table: "a b" is not a usable nftables table name/,
  ],
  [
    "table without nftables",
    'table = "x"\n[[meter]]\nname = "a"\n',
    /^c\.toml: table: only applies to source = "nftables"$/,
  ],
  [
    "pf_zero not a boolean",
    'source = "pf"\npf_zero = "yes"\n[[meter]]\nname = "a"\n',
    /^c\.toml: pf_zero: must be true or false, not "yes"$/,
  ],
  ["bad store", 'store = "mysql://x"\n[[meter]]\nname = "a"\n', /^c\.toml: store: "mysql:\/\/x" must be "sqlite:FILE"/],
  [
    "store path escaping",
    'store = "sqlite:../../etc/x"\n[[meter]]\nname = "a"\n',
    /^c\.toml: store: .* must be "sqlite:FILE"/,
  ],
];

Deno.test("bad config: every problem in the order of the file, misspelt customer and billing keys and zones with a suggestion", () => {
  const text = 'source = "nftables"\n[[meter]]\nname = "a"\nadress = "192.0.2.0/28"\n' +
    '[billing]\ntimezone = "Europe/Berln"\ncycle_dya = 3\n' +
    '[[customer]]\nname = "a"\nqouta = "1 GiB"\n[[customer]]\nname = "b"\ntimezone = "Mars/Olympus"\n' +
    '[mail]\nto = "a@example.org"\nfrom = "b@example.org"\nsend = "fortnightly"\n';
  throws(() => parseConfig(text, "c.toml"), (e: unknown) => {
    ok(e instanceof ConfigError);
    assertEquals(e.message.split("\n"), [
      'c.toml: meter[1].adress: unknown key (did you mean "address"?)',
      'c.toml: billing.timezone: "Europe/Berln" is not a time zone name (did you mean "Europe/Berlin"?)',
      'c.toml: billing.cycle_dya: unknown key (did you mean "cycle_day"?)',
      'c.toml: customer[1].qouta: unknown key (did you mean "quota"?)',
      'c.toml: customer[2].timezone: "Mars/Olympus" is not a time zone name like "Europe/Berlin" or "UTC"',
      'c.toml: mail.send: "fortnightly" is not one of report, daily, cycle',
    ]);
    return true;
  });
});

for (const [what, text, line] of BAD) {
  Deno.test(`bad config: ${what} is one clear line naming the key`, () => {
    throws(() => parseConfig(text, "c.toml"), (e: unknown) => {
      if (!(e instanceof ConfigError)) return false;
      if (e.exitCode !== 78) return false;
      if (!line.test(e.message)) throw new Error(`message was ${JSON.stringify(e.message)}`);
      return true;
    });
  });
}

Deno.test("customers' networks may overlap when a meter says so, or when they count different directions", () => {
  const two = (extra: string, dirB = "both") =>
    parseConfig(
      `source = "nftables"\n[[meter]]\nname = "reseller"\naddress = "192.0.2.0/24"\n${extra}` +
        `[[meter]]\nname = "client"\naddress = "192.0.2.16/28"\ndirection = "${dirB}"\n`,
      "c.toml",
    );
  assertEquals(two("overlap = true\n").meters.map((m) => m.name), ["reseller", "client"]);
  assertEquals(two('direction = "in"\n', "out").meters.length, 2);
  throws(() => two(""), /meter\[2\]\.address: 192\.0\.2\.16\/28 overlaps 192\.0\.2\.0\/24 of meter "reseller"/);
  // Meant to overlap, they may still not be billed together: a customer summing both pays the shared part twice.
  const billed = (meters: string, dirB = "both") =>
    parseConfig(
      `source = "nftables"\n[[meter]]\nname = "reseller"\naddress = "192.0.2.0/24"\noverlap = true\n` +
        `[[meter]]\nname = "client"\naddress = "192.0.2.16/28"\ndirection = "${dirB}"\n` +
        `[[meter]]\nname = "other"\naddress = "198.51.100.0/24"\n` +
        `[[customer]]\nname = "acme"\nmeters = ${meters}\n`,
      "c.toml",
    );
  for (const meters of ['["reseller", "client"]', '["*"]', '["client", "other", "reseller"]']) {
    throws(
      () => billed(meters),
      /^ConfigError: c\.toml: customer\[1\]\.meters: sums meters "reseller" and "client", whose networks overlap \(overlap = true\): the traffic they share would be billed twice; bill them to different customers$/,
      meters,
    );
  }
  assertEquals(billed('["reseller", "other"]').customers.length, 1);
  // Counting different directions, they share no traffic: one customer may sum them.
  assertEquals(
    parseConfig(
      `source = "nftables"\n[[meter]]\nname = "reseller"\naddress = "192.0.2.0/24"\ndirection = "in"\n` +
        `[[meter]]\nname = "client"\naddress = "192.0.2.16/28"\ndirection = "out"\n` +
        `[[customer]]\nname = "acme"\nmeters = ["*"]\n`,
      "c.toml",
    ).customers.length,
    1,
  );
  // Meters without address (the machine's own traffic, from/to matches) may overlap: they are not customers.
  assertEquals(
    parseConfig('[[meter]]\nname = "a"\nfrom = "192.0.2.0/24"\n[[meter]]\nname = "b"\nfrom = "192.0.2.7"\n', "c.toml")
      .meters.length,
    2,
  );
});

Deno.test("several problems give one line each", () => {
  throws(
    () => parseConfig('[[meter]]\nname = "a"\nfrom = "x"\nto = "y"\n[[meter]]\nnom = "b"\n', "c.toml"),
    (e: unknown) => (e as Error).message.split("\n").length === 4,
  );
});

Deno.test("every example config is valid", async () => {
  for await (const e of Deno.readDir(new URL("../examples/", import.meta.url))) {
    if (!e.name.endsWith(".toml")) continue;
    parseConfig(await Deno.readTextFile(new URL(`../examples/${e.name}`, import.meta.url)), e.name);
  }
});

Deno.test("an unknown command gets a did-you-mean when one is close, exit 64", () => {
  for (
    const [word, line] of [
      ["reprot", /^unknown command "reprot" \(did you mean "report"\?\)$/],
      ["shedule", /^unknown command "shedule" \(did you mean "schedule"\?\)$/],
      ["STAUTS", /^unknown command "STAUTS" \(did you mean "status"\?\)$/],
      ["frobnicate", /^unknown command "frobnicate"$/],
    ] as const
  ) {
    throws(
      () => parseCommandLine([word]),
      (e: unknown) => e instanceof UsageError && e.exitCode === 64 && line.test(e.message),
    );
  }
});
