import { deepEqual as assertEquals, throws } from "node:assert/strict";
import { parse as referenceParse } from "smol-toml";
import { parseToml, TomlSyntaxError } from "../lib/toml.ts";

const plain = (v: unknown) => JSON.parse(JSON.stringify(v));

/** Documents both readers must read the same way. */
const AGREE = [
  Deno.readTextFileSync(new URL("../examples/original.toml", import.meta.url)),
  "",
  "# only a comment\n\n",
  "a = \"x\" # trailing comment\nb = 'lit\\eral'\nc = 42\nd = -7\ne = true\nf = false\ng = 1_000\nh = 0.5\ni = 1e3\n",
  'esc = "tab\\there \\"q\\" back\\\\slash \\u00e9 \\U0001F600"\n',
  "\"quoted key\" = 1\n'lit key' = 2\ndotted.key.here = 3\ndotted.other = 4\n",
  "list = [1, 2, 3]\nstrs = [\n  \"a\", # one\n  'b',\n]\nempty = []\nnested = [[1], [2, 3]]\n",
  '[binaries]\niptables = "/sbin/iptables"\n\n[a.b]\nc = 1\n[a]\nd = 2\n',
  '[[meter]]\nname = "a"\n[[meter]]\nname = "b"\nfrom = "192.0.2.1"\n[[meter.sub]]\nx = 1\n',
  "x = 0x1F\ny = 0o17\nz = 0b101\n",
  "a=1\r\nb=2\r\n",
  "  indented = 1\n\t[t]\n\tk = 'v'\n",
];

for (const [i, doc] of AGREE.entries()) {
  Deno.test(`reads document ${i} exactly as smol-toml does`, () => {
    assertEquals(plain(parseToml(doc)), plain(referenceParse(doc)));
  });
}

/** Documents both readers refuse; ours says where. */
const INVALID: [string, RegExp, number][] = [
  ['a = "open\n', /unterminated string|control character/, 1],
  ["a = 1\na = 2\n", /defined twice/, 2],
  ["[t]\n[t]\n", /already defined/, 2],
  ["a = \n", /expected a value/, 1],
  ["a = 1 b = 2\n", /expected the end of the line/, 1],
  ["= 1\n", /expected a key|unexpected/, 1],
  ["a = 01\n", /leading zeros/, 1],
  ["a = 1__0\n", /underscore/, 1],
  ['a = "\\q"\n', /unknown escape/, 1],
  ["a = [1, 2\n", /expected , or \]/, 2],
  ["a = 1\n[a]\n", /already a value|already defined/, 2],
  ["a = 99999999999999999999\n", /too large/, 1],
  ["a = bogus\n", /expected a value/, 1],
  ['a = "x\u0001"\n', /control character/, 1],
];

for (const [doc, reason, line] of INVALID) {
  Deno.test(`refuses ${JSON.stringify(doc.slice(0, 20))} at line ${line}, as smol-toml does`, () => {
    throws(() => referenceParse(doc));
    throws(() => parseToml(doc), (e: unknown) => {
      if (!(e instanceof TomlSyntaxError) || e.line !== line || !reason.test(e.message)) {
        throw new Error(`got ${(e as Error).message} at line ${(e as TomlSyntaxError).line}`);
      }
      return true;
    });
  });
}

Deno.test("TOML netmon's config never needs is refused clearly, not misread", () => {
  for (
    const [doc, reason] of [
      ["d = 2026-11-21\n", /dates are not supported/],
      ["t = { a = 1 }\n", /inline tables are not supported/],
      ['s = """\nmulti\n"""\n', /multi-line strings are not supported/],
      ["s = '''x'''\n", /multi-line strings are not supported/],
    ] as const
  ) {
    referenceParse(doc); // valid TOML…
    throws(() => parseToml(doc), reason); // …that netmon's config has no use for
  }
});
