/**
 * utf8(): the bytes TextEncoder.encode gives, through the fast path (ASCII)
 * and the other (any other character, wherever it is).
 *
 * @module
 */

import assert from "node:assert/strict";
import { utf8 } from "../lib/host/utf8.ts";

Deno.test("utf8: the same bytes as TextEncoder, ASCII or not, short or a megabyte", () => {
  const encoder = new TextEncoder();
  const big = 'netmon_raw_bytes{column="m1"} 1\n'.repeat(32_000);
  for (const text of ["", "a 1\n", "é", "a€b", '\\"\n', "😀", big, big + "😀", "€" + big]) {
    assert.deepEqual(utf8(text), encoder.encode(text), JSON.stringify(text.slice(0, 20)));
  }
});
