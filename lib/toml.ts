/**
 * A strict reader for the part of TOML netmon's config uses: comments,
 * `key = value` with bare, quoted and dotted keys, `[table]` and
 * `[[array of tables]]` headers, basic and literal strings, integers, floats,
 * booleans and (multi-line) arrays. Anything else (dates, inline tables,
 * multi-line strings) is refused with its line and column, never misread.
 *
 * netmon runs from cron every few minutes; a general TOML library cost about
 * 5 ms of start-up per run and was slow on configs with 10,000 meters. The
 * tests check this reader against smol-toml on every document it accepts.
 *
 * @module
 */

/** A TOML syntax error with its 1-based position. */
export class TomlSyntaxError extends SyntaxError {
  /** Line of the error. */
  readonly line: number;
  /** Column of the error. */
  readonly column: number;
  constructor(reason: string, line: number, column: number) {
    super(reason);
    this.name = "TomlSyntaxError";
    this.line = line;
    this.column = column;
  }
}

type Table = Record<string, unknown>;

/** A-Z a-z 0-9 _ -: the characters of a bare key (NaN, past the end, is not). */
const isBareKeyChar = (c: number) =>
  (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 95 || c === 45;
const ESCAPES: Record<string, string> = { b: "\b", t: "\t", n: "\n", f: "\f", r: "\r", '"': '"', "\\": "\\" };

/**
 * Parses TOML text into plain objects, arrays, strings, numbers and booleans.
 *
 * @example
 * ```ts
 * parseToml('source = "iptables"\n[[meter]]\nname = "proxy"\n');
 * // { source: "iptables", meter: [{ name: "proxy" }] }
 * ```
 */
export function parseToml(text: string): Table {
  let pos = 0;
  const root: Table = {};
  let current: Table = root;
  /** Tables made by a header or by keys in them: these may not be opened again. */
  const defined = new Set<Table>();
  /** Tables made implicitly by dotted keys or headers' parents. */
  const implicit = new Set<Table>();
  const arrays = new Set<unknown[]>();

  const fail = (reason: string, at = pos): never => {
    const before = text.slice(0, at);
    const line = before.split("\n").length;
    throw new TomlSyntaxError(reason, line, at - before.lastIndexOf("\n"));
  };
  const peek = () => text[pos] ?? "";
  const skipBlank = () => {
    let c = text.charCodeAt(pos);
    while (c === 32 || c === 9) c = text.charCodeAt(++pos);
  };
  const skipComment = () => {
    if (peek() !== "#") return;
    while (pos < text.length && peek() !== "\n") {
      const c = text.charCodeAt(pos);
      if ((c < 32 && c !== 9) || c === 127) fail("control character in a comment");
      pos++;
    }
  };
  const endOfLine = () => {
    skipBlank();
    skipComment();
    if (peek() === "\r" && text[pos + 1] === "\n") pos++;
    if (pos < text.length && peek() !== "\n") fail(`expected the end of the line, found ${JSON.stringify(peek())}`);
    pos++;
  };
  const skipArraySpace = () => {
    for (;;) {
      skipBlank();
      skipComment();
      if (peek() === "\n") pos++;
      else if (peek() === "\r" && text[pos + 1] === "\n") pos += 2;
      else return;
    }
  };

  const basicString = (): string => {
    if (text.startsWith('"""', pos)) fail("multi-line strings are not supported in netmon's config");
    pos++;
    let out = "";
    for (;;) {
      // Plain characters up to the next quote, escape or control character are taken in one slice.
      const start = pos;
      let code = text.charCodeAt(pos);
      while (code > 31 && code !== 34 && code !== 92 && code !== 127) code = text.charCodeAt(++pos);
      if (pos > start) out += text.slice(start, pos);
      const c = peek();
      if (c === "") fail("unterminated string");
      if (c === '"') {
        pos++;
        return out;
      }
      if ((code < 32 && c !== "\t") || code === 127) fail("control character in a string (write it as an escape)");
      if (c === "\\") {
        const e = text[pos + 1] ?? "";
        if (ESCAPES[e] !== undefined) {
          out += ESCAPES[e];
          pos += 2;
        } else if (e === "u" || e === "U") {
          const len = e === "u" ? 4 : 8;
          const hex = text.slice(pos + 2, pos + 2 + len);
          if (!new RegExp(`^[0-9A-Fa-f]{${len}}$`).test(hex)) fail("bad unicode escape");
          const cp = parseInt(hex, 16);
          if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) fail("unicode escape is not a scalar value");
          out += String.fromCodePoint(cp);
          pos += 2 + len;
        } else fail(`unknown escape \\${e}`);
      } else {
        out += c;
        pos++;
      }
    }
  };
  const literalString = (): string => {
    if (text.startsWith("'''", pos)) fail("multi-line strings are not supported in netmon's config");
    const end = text.indexOf("'", pos + 1);
    const nl = text.indexOf("\n", pos + 1);
    if (end < 0 || (nl >= 0 && nl < end)) fail("unterminated string");
    const s = text.slice(pos + 1, end);
    // deno-lint-ignore no-control-regex
    if (/[\x00-\x08\x0a-\x1f\x7f]/.test(s)) fail("control character in a string");
    pos = end + 1;
    return s;
  };
  const key = (): string[] => {
    const parts: string[] = [];
    for (;;) {
      skipBlank();
      const c = peek();
      if (c === '"') parts.push(basicString());
      else if (c === "'") parts.push(literalString());
      else {
        const start = pos;
        while (isBareKeyChar(text.charCodeAt(pos))) pos++;
        if (pos === start) fail(c === "" || c === "\n" ? "expected a key" : `unexpected ${JSON.stringify(c)} in a key`);
        parts.push(text.slice(start, pos));
      }
      skipBlank();
      if (peek() !== ".") return parts;
      pos++;
    }
  };
  const value = (): unknown => {
    const c = peek();
    if (c === '"') return basicString();
    if (c === "'") return literalString();
    if (c === "[") {
      pos++;
      const list: unknown[] = [];
      for (;;) {
        skipArraySpace();
        if (peek() === "]") {
          pos++;
          return list;
        }
        list.push(value());
        skipArraySpace();
        if (peek() === ",") pos++;
        else if (peek() !== "]") fail("expected , or ] in an array");
      }
    }
    if (c === "{") fail("inline tables are not supported in netmon's config: use a [table]");
    const m =
      /^(?:true|false|[+-]?(?:inf|nan)|[+-]?\d[\d_]*(?:\.\d[\d_]*)?(?:[eE][+-]?\d[\d_]*)?|0x[0-9A-Fa-f_]+|0o[0-7_]+|0b[01_]+)(?=[\s,\]#]|$)/
        .exec(text.slice(pos, pos + 100));
    if (!m) {
      if (/^\d{4}-\d{2}-\d{2}/.test(text.slice(pos, pos + 10))) fail("dates are not supported in netmon's config");
      fail(
        c === "\n" || c === ""
          ? "expected a value"
          : `expected a value, found ${JSON.stringify(text.slice(pos).split(/\s/)[0])}`,
      );
    }
    const word = (m as RegExpExecArray)[0];
    pos += word.length;
    if (word === "true" || word === "false") return word === "true";
    if (/_(?![0-9A-Fa-f])|(?<![0-9A-Fa-f])_/.test(word.replace(/^0[xob]/, ""))) {
      fail("misplaced underscore in a number");
    }
    const clean = word.replace(/_/g, "");
    if (/^[+-]?(inf|nan)$/.test(clean)) {
      return clean.endsWith("nan") ? NaN : clean.startsWith("-") ? -Infinity : Infinity;
    }
    if (/^0[xob]/.test(clean)) return Number(clean);
    if (/^[+-]?0\d/.test(clean)) fail("leading zeros are not allowed in a number");
    const n = Number(clean);
    if (/^[+-]?\d+$/.test(clean) && !Number.isSafeInteger(n)) fail("integer is too large");
    return n;
  };

  /** Walks (creating) the tables of a dotted key's prefix. */
  const descend = (from: Table, parts: string[], at: number): Table => {
    let t = from;
    for (const p of parts) {
      const next = t[p];
      if (next === undefined) {
        const made: Table = {};
        t[p] = made;
        implicit.add(made);
        t = made;
      } else if (Array.isArray(next) && arrays.has(next)) t = next[next.length - 1] as Table;
      else if (typeof next === "object" && next !== null && !Array.isArray(next)) t = next as Table;
      else fail(`key ${JSON.stringify(p)} is already a value, not a table`, at);
    }
    return t;
  };

  while (pos < text.length) {
    skipBlank();
    const c = peek();
    if (c === "#" || c === "\n" || c === "\r") {
      endOfLine();
      continue;
    }
    const at = pos;
    if (c === "[") {
      const isArray = text[pos + 1] === "[";
      pos += isArray ? 2 : 1;
      const parts = key();
      if (!text.startsWith(isArray ? "]]" : "]", pos)) fail(`expected ${isArray ? "]]" : "]"} to close the header`);
      pos += isArray ? 2 : 1;
      const parent = descend(root, parts.slice(0, -1), at);
      const name = parts[parts.length - 1] as string;
      const existing = parent[name];
      if (isArray) {
        if (existing === undefined) {
          const list: unknown[] = [];
          parent[name] = list;
          arrays.add(list);
        } else if (!(Array.isArray(existing) && arrays.has(existing))) {
          fail(`${parts.join(".")} is already defined`, at);
        }
        const t: Table = {};
        (parent[name] as unknown[]).push(t);
        defined.add(t);
        current = t;
      } else {
        if (existing === undefined) {
          const t: Table = {};
          parent[name] = t;
          current = t;
        } else if (
          typeof existing === "object" && existing !== null && !Array.isArray(existing) &&
          implicit.has(existing as Table) && !defined.has(existing as Table)
        ) {
          current = existing as Table;
          implicit.delete(current);
        } else fail(`table [${parts.join(".")}] is already defined`, at);
        defined.add(current);
      }
      endOfLine();
      continue;
    }
    const parts = key();
    if (peek() !== "=") fail("expected = after the key");
    pos++;
    skipBlank();
    const target = descend(current, parts.slice(0, -1), at);
    const name = parts[parts.length - 1] as string;
    if (Object.hasOwn(target, name)) fail(`key ${JSON.stringify(parts.join("."))} is defined twice`, at);
    target[name] = value();
    endOfLine();
  }
  return root;
}
