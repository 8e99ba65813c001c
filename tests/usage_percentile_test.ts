/**
 * The 95th percentile against a direct computation (sort, then walk the
 * cumulative weight) on seeded random rates, equal and unequal intervals.
 */
import { deepEqual as assertEquals } from "node:assert/strict";
import { weightedPercentile } from "../lib/usage/percentile.ts";

function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The definition, directly: sort by rate, the first whose cumulative weight reaches 95% of the total. */
function direct(rates: number[], weights: number[]): number | undefined {
  const pairs = rates.map((r, i) => [r, weights[i] as number] as const).filter(([r, w]) => !Number.isNaN(r) && w > 0);
  if (pairs.length === 0) return undefined;
  pairs.sort((a, b) => a[0] - b[0]);
  const total = pairs.reduce((s, [, w]) => s + w, 0);
  let acc = 0;
  for (const [r, w] of pairs) {
    acc += w;
    if (acc * 100 >= 95 * total) return r;
  }
  return pairs.at(-1)?.[0];
}

Deno.test("with N equal intervals the 95th percentile is the ceil(0.95 N)-th smallest rate", () => {
  const seed = Number(Deno.env.get("SEED") ?? Date.now() % 100_000);
  // deno-lint-ignore no-console
  console.log(`seed ${seed}`);
  const rand = prng(seed);
  for (let round = 0; round < 300; round++) {
    const n = 1 + Math.floor(rand() * 400);
    // Few distinct values sometimes, so that ties are exercised.
    const distinct = rand() < 0.3 ? 1 + Math.floor(rand() * 5) : 0;
    const rates = Array.from({ length: n }, () => distinct ? Math.floor(rand() * distinct) : rand() * 1e9);
    const weights = Array.from({ length: n }, () => 300_000);
    const sorted = [...rates].sort((a, b) => a - b);
    const k = Math.ceil((95 * n) / 100);
    assertEquals(
      weightedPercentile(Float64Array.from(rates), Float64Array.from(weights), n),
      sorted[k - 1],
      `seed ${seed} round ${round}`,
    );
  }
});

Deno.test("unequal intervals count in proportion to their length (direct computation, seeded)", () => {
  const seed = Number(Deno.env.get("SEED") ?? (Date.now() * 7) % 100_000);
  // deno-lint-ignore no-console
  console.log(`seed ${seed}`);
  const rand = prng(seed);
  for (let round = 0; round < 300; round++) {
    const n = 1 + Math.floor(rand() * 600);
    const rates = Array.from({ length: n }, () => rand() < 0.05 ? NaN : Math.floor(rand() * 1000) * 1e6);
    const weights = Array.from({ length: n }, () => rand() < 0.05 ? 0 : Math.floor(1 + rand() * 3_600_000));
    const got = weightedPercentile(Float64Array.from(rates), Float64Array.from(weights), n);
    assertEquals(got, direct(rates, weights), `seed ${seed} round ${round}`);
  }
});

Deno.test("a long interval at a high rate moves the percentile; nothing to rank is undefined; the input is untouched", () => {
  // 19 five-minute intervals at 1 Mbit/s and one at 100 Mbit/s: the burst is the top 5%.
  const rates = Float64Array.from([...Array(19).fill(1e6), 1e8]);
  const five = new Float64Array(20).fill(300_000);
  assertEquals(weightedPercentile(rates, five, 20), 1e6);
  // The same burst lasting an hour is 1/3 of the time: it is the percentile.
  const weights = five.slice();
  weights[19] = 3_600_000;
  assertEquals(weightedPercentile(rates, weights, 20), 1e8);
  assertEquals([...rates.slice(18)], [1e6, 1e8]);
  assertEquals(weightedPercentile(Float64Array.from([NaN]), Float64Array.from([1]), 1), undefined);
  assertEquals(weightedPercentile(new Float64Array(0), new Float64Array(0), 0), undefined);
});

Deno.test("long buckets (a month of 5-minute intervals and more): the sampled pivot finds the same rate as the definition", () => {
  const seed = Number(Deno.env.get("SEED") ?? (Date.now() * 13) % 100_000);
  // deno-lint-ignore no-console
  console.log(`seed ${seed}`);
  const rand = prng(seed);
  for (let round = 0; round < 12; round++) {
    const n = 2000 + Math.floor(rand() * 30_000);
    // Sorted, reversed, ties and random orders: none may defeat the pivot's sample.
    const shape = round % 4;
    const distinct = 1 + Math.floor(rand() * 50);
    let rates = Array.from(
      { length: n },
      () => rand() < 0.02 ? NaN : shape === 2 ? Math.floor(rand() * distinct) : rand() * 1e9,
    );
    if (shape === 0) rates = rates.sort((a, b) => a - b);
    if (shape === 1) rates = rates.sort((a, b) => b - a);
    const weights = Array.from({ length: n }, () => rand() < 0.9 ? 300_000 : Math.floor(rand() * 3_600_000));
    for (const q of [0.95, 0.5, 0.99]) {
      const got = weightedPercentile(Float64Array.from(rates), Float64Array.from(weights), n, q);
      assertEquals(got, directAt(rates, weights, q), `seed ${seed} round ${round} q ${q}`);
    }
  }
});

/** The definition for any whole-percent `q`. */
function directAt(rates: number[], weights: number[], q: number): number | undefined {
  const pairs = rates.map((r, i) => [r, weights[i] as number] as const).filter(([r, w]) => !Number.isNaN(r) && w > 0);
  pairs.sort((a, b) => a[0] - b[0]);
  const total = pairs.reduce((s, [, w]) => s + w, 0);
  let acc = 0;
  for (const [r, w] of pairs) {
    acc += w;
    if (acc * 100 >= Math.round(q * 100) * total) return r;
  }
  return pairs.at(-1)?.[0];
}
