/**
 * "Did you mean": the known word closest to a mistyped one, when one is
 * close enough to be the likely intent (a typo, a swapped pair, a dash for
 * an underscore), for unknown commands, config keys and time zone names.
 *
 * @module
 */

/** Edit distance with adjacent swaps counted as one edit (optimal string alignment). */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) (d[0] as number[])[j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const row = d[i] as number[], prev = d[i - 1] as number[];
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row[j] = Math.min((prev[j] as number) + 1, (row[j - 1] as number) + 1, (prev[j - 1] as number) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        row[j] = Math.min(row[j] as number, ((d[i - 2] as number[])[j - 2] as number) + 1);
      }
    }
  }
  return (d[a.length] as number[])[b.length] as number;
}

/**
 * The word of `known` closest to `word` (case and `-`/`_` ignored), if it is
 * within a third of the word's length (at least one edit); else undefined.
 *
 * @example
 * ```ts
 * closest("reprot", ["report", "start"]); // "report"
 * closest("statedir", ["state_dir", "store"]); // "state_dir"
 * ```
 */
export function closest(word: string, known: readonly string[]): string | undefined {
  const norm = (s: string) => s.toLowerCase().replace(/[-_]/g, "");
  const w = norm(word);
  let best: string | undefined;
  let bestDistance = Math.max(1, Math.floor(w.length / 3)) + 1;
  for (const k of known) {
    const distance = editDistance(w, norm(k));
    if (distance < bestDistance) [best, bestDistance] = [k, distance];
  }
  return best;
}

/** The message for an unknown key: a suggestion when one is close, else the known keys. */
export function unknownKey(key: string, known: readonly string[]): string {
  const near = closest(key, known);
  return near !== undefined
    ? `unknown key (did you mean ${JSON.stringify(near)}?)`
    : `unknown key (known keys: ${known.join(", ")})`;
}

/**
 * The time zone name closest to a mistyped one (`Europe/Berln`), if one is
 * close; the runtime's list is read only here, on the error's path.
 *
 * @example
 * ```ts
 * closestZone("Europe/Berln"); // "Europe/Berlin"
 * ```
 */
export function closestZone(name: string): string | undefined {
  return closest(name, ["UTC", ...Intl.supportedValuesOf("timeZone")]);
}
