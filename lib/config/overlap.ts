/**
 * Customers must not share networks: two meters with `address` (each a
 * metered party) whose networks overlap would both count the traffic of the
 * shared part, and a bill built from them charges it twice. Such a config
 * is refused, not warned about: a warning from a cron job goes to a mailbox
 * nobody reads while the bills go out, whereas a refused config is seen at
 * the first `netmon start`. Where the overlap is meant (a reseller's block
 * and one of its customers', both metered), `overlap = true` on either meter
 * says so.
 *
 * @module
 */

import { networkRange, overlappingNetworks } from "./address.ts";
import type { Meter } from "./meters.ts";

/**
 * Reports (to `bad`, naming the key) every pair of `address` meters whose
 * networks overlap in a direction both count, unless one says `overlap = true`;
 * also a non-boolean `overlap`. `raw` is the config's `[[meter]]` array.
 * Returns the pairs `overlap = true` let through (their names): a customer
 * may not sum both ({@linkcode checkCustomerSums}).
 */
export function checkCustomerOverlap(
  raw: unknown[],
  meters: Meter[],
  bad: (key: string, what: string) => void,
): [string, string][] {
  const allowed: [string, string][] = [];
  const intended = new Set<string>();
  raw.forEach((r, i) => {
    if (typeof r !== "object" || r === null) return;
    const { name, overlap } = r as Record<string, unknown>;
    if (overlap === undefined) return;
    if (typeof overlap !== "boolean") bad(`meter[${i + 1}].overlap`, `must be true or false, not ${String(overlap)}`);
    else if (overlap && typeof name === "string") intended.add(name);
  });
  const customers = meters.filter((m) => m.address && !m.address.negated);
  if (customers.length < 2) return allowed;
  const index = new Map<string, number>();
  raw.forEach((r, i) => {
    const name = typeof r === "object" && r !== null ? (r as Record<string, unknown>).name : undefined;
    if (typeof name === "string") index.set(name, i + 1);
  });
  for (const [ka, kb] of overlappingPairs(customers)) {
    const a = customers[ka] as Meter, b = customers[kb] as Meter;
    if (!(a.directions ?? []).some((d) => (b.directions ?? []).includes(d))) continue;
    // overlappingPairs found a network of each that overlap: meant, or refused.
    if (intended.has(a.name) || intended.has(b.name)) {
      allowed.push([a.name, b.name]);
      continue;
    }
    for (const family of ["v4", "v6"] as const) {
      const ours = b.address?.[family] ?? [];
      const theirs = a.address?.[family] ?? [];
      const o = overlappingNetworks([...theirs, ...ours]);
      if (!o) continue;
      const [mine, other] = ours.includes(o[1]) ? [o[1], o[0]] : [o[0], o[1]];
      bad(
        `meter[${index.get(b.name)}].address`,
        `${mine} overlaps ${other} of meter ${JSON.stringify(a.name)}: traffic in both would be counted (and billed) ` +
          `twice; correct the networks, or set overlap = true on one of the two meters if that is intended`,
      );
      break;
    }
  }
  return allowed;
}

/**
 * Reports (to `bad`) each customer whose columns include columns of both
 * meters of a pair `overlap = true` allowed (`pairs`, from
 * {@linkcode checkCustomerOverlap}): what the two share would be billed to it
 * twice. `columnsOf` gives a meter's columns, `customers` each customer's.
 */
export function checkCustomerSums(
  pairs: readonly [string, string][],
  columnsOf: (meter: string) => readonly string[],
  customers: readonly { in: readonly string[]; out: readonly string[]; both: readonly string[] }[],
  bad: (key: string, what: string) => void,
): void {
  if (pairs.length === 0) return;
  customers.forEach((c, i) => {
    const has = new Set([...c.in, ...c.out, ...c.both]);
    const pair = pairs.find(([a, b]) => columnsOf(a).some((x) => has.has(x)) && columnsOf(b).some((x) => has.has(x)));
    if (!pair) return;
    bad(
      `customer[${i + 1}].meters`,
      `sums meters ${JSON.stringify(pair[0])} and ${JSON.stringify(pair[1])}, whose networks overlap (overlap = ` +
        "true): the traffic they share would be billed twice; bill them to different customers",
    );
  });
}

/**
 * The pairs `[a, b]` (indexes into `customers`, a < b) with a network of one
 * overlapping a network of the other, ordered by b then a. Every network
 * sorted by its first address, each is compared only with those that start
 * within it: not every pair of customers (10,000 of them are 50 million
 * pairs, a minute of CPU on every run).
 */
function overlappingPairs(customers: readonly Meter[]): [number, number][] {
  const n = customers.length;
  const found = new Set<number>();
  for (const family of ["v4", "v6"] as const) {
    const spans: { first: bigint; last: bigint; k: number }[] = [];
    customers.forEach((m, k) => {
      for (const cidr of m.address?.[family] ?? []) {
        const [first, last] = networkRange(cidr);
        spans.push({ first, last, k });
      }
    });
    spans.sort((x, y) => (x.first < y.first ? -1 : x.first > y.first ? 1 : 0));
    for (let i = 0; i < spans.length; i++) {
      const s = spans[i] as (typeof spans)[number];
      for (let j = i + 1; j < spans.length && (spans[j] as (typeof spans)[number]).first <= s.last; j++) {
        const k = (spans[j] as (typeof spans)[number]).k;
        if (k !== s.k) found.add(Math.max(k, s.k) * n + Math.min(k, s.k));
      }
    }
  }
  return [...found].sort((x, y) => x - y).map((p) => [p % n, Math.floor(p / n)]);
}
