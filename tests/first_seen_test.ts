/**
 * lib/usage/first_seen.ts: each column's first sample, in time order and
 * out of it (a fleet's hosts interleave), and a customer's: its earliest.
 */
import { deepEqual as assertEquals } from "node:assert/strict";
import { FirstSeen } from "../lib/usage/first_seen.ts";

Deno.test("a column's first sample; a customer's is the earliest of its columns; one never seen counts from the log's first", () => {
  const seen = new FirstSeen();
  assertEquals([seen.first, seen.of(["a"])], [NaN, NaN]);
  const one = ["a"], two = ["a", "b"];
  seen.note({ epoch: 100, columns: one });
  seen.note({ epoch: 200, columns: one });
  seen.note({ epoch: 300, columns: two });
  seen.note({ epoch: 400, columns: two });
  seen.note({ epoch: 500, columns: ["b", "c"] });
  assertEquals([seen.first, seen.of(["a"]), seen.of(["b"]), seen.of(["c"])], [100, 100, 300, 500]);
  assertEquals([seen.of(["b", "c"]), seen.of(["c", "a"]), seen.of(["never"]), seen.of(["never", "c"])], [
    300,
    100,
    100,
    100,
  ]);
  assertEquals(seen.of([]), 100);
});

Deno.test("samples out of order, and another host's added: the earliest of each column counts", () => {
  const a = new FirstSeen(), b = new FirstSeen();
  const cols = ["x", "y"];
  a.note({ epoch: 500, columns: cols });
  a.note({ epoch: 300, columns: cols }); // the same array, earlier: still noted
  a.note({ epoch: 600, columns: ["x"] });
  b.note({ epoch: 400, columns: ["x", "z"] });
  b.note({ epoch: 200, columns: ["w"] });
  assertEquals([a.of(["x"]), a.of(["y"]), b.of(["x"]), b.of(["z"]), b.first], [300, 300, 400, 400, 200]);
  a.add(b);
  assertEquals([a.first, a.of(["x"]), a.of(["y"]), a.of(["z"]), a.of(["w"])], [200, 300, 300, 400, 200]);
});
