/**
 * Seeded randomness for tests: a failure can be replayed with the seed the
 * test printed (`NETMON_TEST_SEED=...`).
 *
 * @module
 */
// deno-lint-ignore-file no-console

/** A seeded generator of floats in [0, 1) (mulberry32), announcing its seed on stderr. */
export function seededRandom(what: string): () => number {
  const fixed = Deno.env.get("NETMON_TEST_SEED");
  let seed = fixed ? Number(fixed) >>> 0 : crypto.getRandomValues(new Uint32Array(1))[0] as number;
  console.error(`${what}: seed ${seed} (replay with NETMON_TEST_SEED=${seed})`);
  return () => {
    seed = (seed + 0x6d2b79f5) >>> 0;
    let t = seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
