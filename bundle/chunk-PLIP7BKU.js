// lib/address.ts
function parseV4(text) {
  let value = 0, octet = 0, digits = 0, dots = 0;
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? text.charCodeAt(i) : 46;
    if (c === 46) {
      if (digits === 0 || octet > 255 || digits > 1 && text.charCodeAt(i - digits) === 48) return void 0;
      value = value * 256 + octet;
      octet = 0;
      digits = 0;
      if (i < text.length && ++dots > 3) return void 0;
    } else if (c >= 48 && c <= 57 && digits < 3) {
      octet = octet * 10 + (c - 48);
      digits++;
    } else return void 0;
  }
  return dots === 3 ? value : void 0;
}
function parseV6(text) {
  if (!/^[0-9a-fA-F:.]+$/.test(text) || text.length > 45) return void 0;
  let head = text;
  let tailV4;
  const lastColon = text.lastIndexOf(":");
  if (text.includes(".")) {
    const v4 = parseV4(text.slice(lastColon + 1));
    if (v4 === void 0) return void 0;
    tailV4 = BigInt(v4);
    head = text.slice(0, lastColon + 1) + "0:0";
  }
  const halves = head.split("::");
  if (halves.length > 2) return void 0;
  const groups = (s) => s === "" ? [] : s.split(":");
  const left = groups(halves[0] ?? "");
  const right = halves.length === 2 ? groups(halves[1] ?? "") : [];
  const total = left.length + right.length;
  if (halves.length === 1 ? total !== 8 : total > 7) return void 0;
  const all = [
    ...left,
    ...Array(8 - total).fill("0"),
    ...right
  ];
  if (!all.every((g) => /^[0-9a-fA-F]{1,4}$/.test(g))) return void 0;
  let value = all.reduce((acc, g) => acc << 16n | BigInt(parseInt(g, 16)), 0n);
  if (tailV4 !== void 0) value = value & ~0xffffffffn | tailV4;
  return value;
}
function formatV4(value) {
  return `${value >>> 24}.${value >>> 16 & 255}.${value >>> 8 & 255}.${value & 255}`;
}
function formatV6(value) {
  const g = Array.from({
    length: 8
  }, (_, i) => Number(value >> BigInt(112 - 16 * i) & 0xffffn));
  let best = -1, bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) [best, bestLen] = [
      i,
      j - i
    ];
    i = j;
  }
  const hex = g.map((n) => n.toString(16));
  if (best < 0) return hex.join(":");
  return `${hex.slice(0, best).join(":")}::${hex.slice(best + bestLen).join(":")}`;
}
function parseAddressMatch(text) {
  if (text.length > 64) return "is too long for an address or CIDR";
  let rest = text.trim();
  if (rest !== text) return "has spaces around it";
  const negated = rest.startsWith("!");
  if (negated) rest = rest.slice(1).trimStart();
  const slash = rest.indexOf("/");
  const addr = slash < 0 ? rest : rest.slice(0, slash);
  const prefixText = slash < 0 ? void 0 : rest.slice(slash + 1);
  const v4 = parseV4(addr);
  const v6 = v4 === void 0 ? parseV6(addr) : void 0;
  if (v4 === void 0 && v6 === void 0) return "is not an IPv4 or IPv6 address or CIDR";
  const family = v4 !== void 0 ? 4 : 6;
  const bits = family === 4 ? 32 : 128;
  let prefix = bits;
  if (prefixText !== void 0) {
    if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > bits) {
      return `has a prefix length that is not 0 to ${bits}`;
    }
    prefix = Number(prefixText);
  }
  let text2;
  if (v4 !== void 0) {
    const mask = prefix === 0 ? 0 : 4294967295 << 32 - prefix >>> 0;
    text2 = formatV4((v4 & mask) >>> 0);
  } else {
    const hostBits = BigInt(128 - prefix);
    text2 = formatV6(v6 >> hostBits << hostBits);
  }
  return {
    negated,
    family,
    cidr: `${text2}/${prefix}`
  };
}
function networkRange(cidr) {
  const slash = cidr.indexOf("/");
  const addr = cidr.slice(0, slash);
  const v4 = parseV4(addr);
  const start = v4 !== void 0 ? BigInt(v4) : parseV6(addr);
  const size = 1n << BigInt((v4 !== void 0 ? 32 : 128) - Number(cidr.slice(slash + 1)));
  return [
    start,
    start + size - 1n
  ];
}
function overlappingNetworks(cidrs) {
  if (cidrs.length < 2) return void 0;
  const ranges = cidrs.map((c) => ({
    c,
    r: networkRange(c)
  })).sort((a, b) => a.r[0] < b.r[0] ? -1 : 1);
  for (let i = 1; i < ranges.length; i++) {
    const prev = ranges[i - 1], cur = ranges[i];
    if (cur.r[0] <= prev.r[1]) return [
      prev.c,
      cur.c
    ];
  }
  return void 0;
}
function listedAddress(m) {
  const host = m.family === 4 ? "/32" : "/128";
  const shown = m.cidr.endsWith(host) ? m.cidr.slice(0, -host.length) : m.cidr;
  return (m.negated ? "!" : "") + shown;
}

export {
  parseAddressMatch,
  overlappingNetworks,
  listedAddress
};
