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

Deno.test("a column the newest sample no longer has is removed (as is one never seen: it adds nothing); one only missing before it is not", () => {
  const seen = new FirstSeen();
  assertEquals(seen.removed("a"), false, "before any sample nothing is removed");
  const two = ["a", "b"];
  seen.note({ epoch: 100, columns: two });
  seen.note({ epoch: 200, columns: ["a"] }); // b away for a while
  seen.note({ epoch: 300, columns: two }); // and back
  assertEquals([seen.removed("a"), seen.removed("b")], [false, false]);
  seen.note({ epoch: 400, columns: ["b"] });
  seen.note({ epoch: 350, columns: two }); // an older sample noted late is not the newest
  assertEquals([seen.removed("a"), seen.removed("b"), seen.removed("never")], [true, false, true]);
  // Only samples before the bound (`--to`) are the newest: as of then, a was still there.
  const asOf = new FirstSeen(400);
  for (const s of [{ epoch: 300, columns: two }, { epoch: 400, columns: ["b"] }]) asOf.note(s);
  assertEquals([asOf.removed("a"), asOf.of(["a"])], [false, 300]);
});

Deno.test("hosts added: a column is removed only when no host's newest sample has it", () => {
  const a = new FirstSeen(), b = new FirstSeen(), fleet = new FirstSeen();
  a.note({ epoch: 100, columns: ["x", "y"] });
  a.note({ epoch: 500, columns: ["x"] }); // y removed on host a
  b.note({ epoch: 200, columns: ["z", "w"] });
  b.note({ epoch: 300, columns: ["z"] }); // w removed on host b, whose newest sample is older than a's
  fleet.add(a);
  fleet.add(b);
  assertEquals(["x", "y", "z", "w"].map((c) => fleet.removed(c)), [false, true, false, true]);
  assertEquals(new FirstSeen().removed("x"), false);
});
