/**
 * Addresses and networks in meter matches: strict parsing of IPv4 and IPv6
 * addresses and CIDRs, optionally negated with `!`, into the canonical text
 * iptables-save prints (network address, explicit prefix).
 *
 * @module
 */

/** A parsed address match. */
export interface AddressMatch {
  /** True when written with a leading `!`: everything but this network. */
  negated: boolean;
  /** 4 or 6. */
  family: 4 | 6;
  /** Canonical network text, e.g. `192.168.1.0/24`, `2001:db8::/32`. */
  cidr: string;
}

/** An IPv4 address as an unsigned 32-bit number (plain numbers: BigInt here made 10,000 meters slow). */
function parseV4(text: string): number | undefined {
  let value = 0, octet = 0, digits = 0, dots = 0;
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? text.charCodeAt(i) : 46;
    if (c === 46) {
      // No empty octet, no leading zero (iptables would read 010 as octal), at most 255.
      if (digits === 0 || octet > 255 || (digits > 1 && text.charCodeAt(i - digits) === 48)) return undefined;
      value = value * 256 + octet;
      octet = 0;
      digits = 0;
      if (i < text.length && ++dots > 3) return undefined;
    } else if (c >= 48 && c <= 57 && digits < 3) {
      octet = octet * 10 + (c - 48);
      digits++;
    } else return undefined;
  }
  return dots === 3 ? value : undefined;
}

function parseV6(text: string): bigint | undefined {
  if (!/^[0-9a-fA-F:.]+$/.test(text) || text.length > 45) return undefined;
  let head = text;
  let tailV4: bigint | undefined;
  const lastColon = text.lastIndexOf(":");
  if (text.includes(".")) {
    const v4 = parseV4(text.slice(lastColon + 1));
    if (v4 === undefined) return undefined;
    tailV4 = BigInt(v4);
    head = text.slice(0, lastColon + 1) + "0:0";
  }
  const halves = head.split("::");
  if (halves.length > 2) return undefined;
  const groups = (s: string) => (s === "" ? [] : s.split(":"));
  const left = groups(halves[0] ?? "");
  const right = halves.length === 2 ? groups(halves[1] ?? "") : [];
  const total = left.length + right.length;
  if (halves.length === 1 ? total !== 8 : total > 7) return undefined;
  const all = [...left, ...Array(8 - total).fill("0"), ...right];
  if (!all.every((g) => /^[0-9a-fA-F]{1,4}$/.test(g))) return undefined;
  let value = all.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n);
  if (tailV4 !== undefined) value = (value & ~0xffffffffn) | tailV4;
  return value;
}

function formatV4(value: number): string {
  return `${value >>> 24}.${(value >>> 16) & 255}.${(value >>> 8) & 255}.${value & 255}`;
}

/** RFC 5952 text: lower case, the longest run of two or more zero groups as `::`. */
function formatV6(value: bigint): string {
  const g = Array.from({ length: 8 }, (_, i) => Number((value >> BigInt(112 - 16 * i)) & 0xffffn));
  let best = -1, bestLen = 1;
  for (let i = 0; i < 8;) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j;
  }
  const hex = g.map((n) => n.toString(16));
  if (best < 0) return hex.join(":");
  return `${hex.slice(0, best).join(":")}::${hex.slice(best + bestLen).join(":")}`;
}

/**
 * Parses `192.0.2.1`, `!192.0.2.0/24`, `2001:db8::/32` and the like into
 * canonical text. Returns a reason string when the text is not an address,
 * or when it has host bits under its prefix (`203.0.113.5/28`): iptables
 * would clear them, but the writer meant one address or the network, and
 * which one decides who is billed.
 *
 * @example
 * ```ts
 * parseAddressMatch("!192.168.1.0/24"); // { negated: true, family: 4, cidr: "192.168.1.0/24" }
 * ```
 */
export function parseAddressMatch(text: string): AddressMatch | string {
  if (text.length > 64) return "is too long for an address or CIDR";
  let rest = text.trim();
  if (rest !== text) return "has spaces around it";
  const negated = rest.startsWith("!");
  if (negated) rest = rest.slice(1).trimStart();
  const slash = rest.indexOf("/");
  const addr = slash < 0 ? rest : rest.slice(0, slash);
  const prefixText = slash < 0 ? undefined : rest.slice(slash + 1);
  const v4 = parseV4(addr);
  const v6 = v4 === undefined ? parseV6(addr) : undefined;
  if (v4 === undefined && v6 === undefined) return "is not an IPv4 or IPv6 address or CIDR";
  const family: 4 | 6 = v4 !== undefined ? 4 : 6;
  const bits = family === 4 ? 32 : 128;
  let prefix = bits;
  if (prefixText !== undefined) {
    if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > bits) {
      return `has a prefix length that is not 0 to ${bits}`;
    }
    prefix = Number(prefixText);
  }
  let text2: string;
  let hostBitsSet: boolean;
  if (v4 !== undefined) {
    const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
    hostBitsSet = ((v4 & mask) >>> 0) !== v4;
    // A dotted quad parseV4 accepts is written canonically (four octets, no leading zeros): without host bits
    // it is the network's text as it stands (10,000 meters' addresses are not formatted again).
    text2 = hostBitsSet ? formatV4((v4 & mask) >>> 0) : addr;
  } else {
    const hostBits = BigInt(128 - prefix);
    const network = ((v6 as bigint) >> hostBits) << hostBits;
    text2 = formatV6(network);
    hostBitsSet = network !== v6;
  }
  // iptables would quietly clear them; but 203.0.113.5/28 meant either one address or the network, and a
  // meter of the wrong one bills the wrong party.
  if (hostBitsSet) {
    const not = negated ? "!" : "";
    return `has host bits set under its /${prefix}: did you mean the network ${not}${text2}/${prefix}, or the one address ${not}${addr}?`;
  }
  return { negated, family, cidr: `${text2}/${prefix}` };
}

/** The first and last address of a canonical CIDR (as parseAddressMatch gives), as numbers. */
export function networkRange(cidr: string): [bigint, bigint] {
  const slash = cidr.indexOf("/");
  const addr = cidr.slice(0, slash);
  const v4 = parseV4(addr);
  const start = v4 !== undefined ? BigInt(v4) : parseV6(addr) as bigint;
  const size = 1n << BigInt((v4 !== undefined ? 32 : 128) - Number(cidr.slice(slash + 1)));
  return [start, start + size - 1n];
}

/** The first two of `cidrs` (canonical, one family) that overlap, if any. */
export function overlappingNetworks(cidrs: string[]): [string, string] | undefined {
  if (cidrs.length < 2) return undefined;
  const ranges = cidrs.map((c) => ({ c, r: networkRange(c) })).sort((a, b) => (a.r[0] < b.r[0] ? -1 : 1));
  for (let i = 1; i < ranges.length; i++) {
    const prev = ranges[i - 1]!, cur = ranges[i]!;
    if (cur.r[0] <= prev.r[1]) return [prev.c, cur.c];
  }
  return undefined;
}

/** The text iptables -L -n prints for a match: `/32` and `/128` dropped, `!` glued on. */
export function listedAddress(m: AddressMatch): string {
  const host = m.family === 4 ? "/32" : "/128";
  const shown = m.cidr.endsWith(host) ? m.cidr.slice(0, -host.length) : m.cidr;
  return (m.negated ? "!" : "") + shown;
}
