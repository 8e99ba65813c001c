/**
 * The usage pages' rendering (lib/outputs/page.ts) for 100 customers with a
 * year of daily figures each, beside a baseline in the same run: serialising
 * the same input as JSON (one pass over the same data, no markup).
 *
 * Goals (issue 21): the whole page, summary included, in under 2 s (the
 * rendering is the part timed here: the summary engine is timed by its own
 * bench); each page under 500 KB.
 *
 * Run: deno run -A bench/page_bench.ts
 */
// deno-lint-ignore-file no-console

import { pageFiles } from "../lib/outputs/page.ts";
import { bigPage } from "../tests/page_fixture.ts";

const CUSTOMERS = 100;
const RUNS = 5;
const data = bigPage(1, CUSTOMERS);

function best(fn: () => void): number {
  let min = Infinity;
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    fn();
    min = Math.min(min, performance.now() - t0);
  }
  return min;
}

let files = pageFiles(data);
const render = best(() => {
  files = pageFiles(data);
});
const json = best(() => {
  JSON.stringify(data, (_k, v) => (typeof v === "bigint" ? v.toString() : v));
});
const enc = new TextEncoder();
const sizes = files.map((f) => enc.encode(f.html).length);
const customerSizes = sizes.slice(1);
const kb = (n: number) => `${(n / 1024).toFixed(1)} KiB`;
console.log(`page bench: ${CUSTOMERS} customers, a year of daily figures each; best of ${RUNS} runs`);
console.log(`  render all ${files.length} pages   ${render.toFixed(1)} ms`);
console.log(`  baseline: JSON of the input  ${json.toFixed(1)} ms`);
console.log(`  overview (index.html)        ${kb(sizes[0] as number)}`);
console.log(
  `  customer page                min ${kb(Math.min(...customerSizes))}, max ${kb(Math.max(...customerSizes))}`,
);
console.log(`  all pages                    ${kb(sizes.reduce((a, b) => a + b, 0))}`);
const over = sizes.filter((s) => s >= 500 * 1000).length;
console.log(`  pages of 500 KB or more      ${over} (goal: 0)`);
