/**
 * The Message-ID of every mail netmon sends (reports, alerts, digests,
 * statements): RFC 5322's `<id-left@id-right>`, whose left part must be a
 * dot-atom (atoms joined by single dots, none first or last) whatever the
 * words it is made of (a customer's name, a cycle's label `A .. B`).
 *
 * @module
 */

/** A short stable name for a ledger key (FNV-1a, 64 bits, in hex): an alert's Message-ID and spool file. */
export function keyId(key: string): string {
  let h = 0xcbf29ce484222325n;
  for (const b of new TextEncoder().encode(key)) h = ((h ^ BigInt(b)) * 0x100000001b3n) & 0xffffffffffffffffn;
  return h.toString(16).padStart(16, "0");
}

/**
 * The Message-ID made of `words` at host `helo` (a host name, as
 * `[mail] helo` is checked to be): each word's runs of characters other than
 * letters, digits and `-` become one dot, none at either end, and words
 * left empty are dropped. The words' text may be lost so (`東京`, `a b`
 * and `a.b`): where they must tell messages apart, a word of their
 * {@linkcode keyId} keeps them apart.
 *
 * @example
 * ```ts
 * messageId(["netmon", "statement\tcharlie\t2026-11-15 .. 2026-12-14", "1797289200062"], "example.org");
 * // "<netmon.statement.charlie.2026-11-15.2026-12-14.1797289200062@example.org>"
 * ```
 */
export function messageId(words: readonly string[], helo: string): string {
  const atoms = words.map((w) => w.replace(/[^A-Za-z0-9-]+/g, ".").replace(/^\.|\.$/g, "")).filter((a) => a !== "");
  return `<${atoms.join(".")}@${helo}>`;
}
