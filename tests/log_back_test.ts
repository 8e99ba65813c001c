/**
 * lib/state/log_back.ts: a column's last value in the log, read backward
 * from its end, for a column that comes back.
 */
import { deepEqual as assertEquals } from "node:assert/strict";
import { lastLoggedValues } from "../lib/state/log_back.ts";
import { withTempDir } from "./helpers.ts";

const H = "# netmon meters:";

/** Writes `lines` as the log in `dir` and looks `columns` up in it. */
async function lookUp(dir: string, lines: string[], columns: string[], end = "\n"): Promise<Map<string, bigint>> {
  const log = `${dir}/netmon.log`;
  await Deno.writeTextFile(log, lines.join("\n") + end);
  return lastLoggedValues(log, columns);
}

Deno.test("log_back: each column's value on the last line under the last header that names it", async () => {
  await withTempDir(async (dir) => {
    const lines = [
      `${H}\ta\tb\tc`,
      "2024/03/01-10:00:00\t1\t10\t100",
      "2024/03/01-10:05:00\t2\t11\t101",
      `${H}\ta`,
      "2024/03/01-10:10:00\t3",
      `${H}\ta\tb`,
      "# netmon reset:\tb\trules re-created",
      "2024/03/01-10:15:00\t4\t5",
      "2024/03/01-10:20:00\t5\t6",
      `${H}\ta`,
      "# a comment",
      "2024/03/01-10:25:00\t6",
    ];
    // b from its latest stretch, c from the first; d never was in the log; a is (wrongly) asked too: its value now.
    assertEquals(await lookUp(dir, lines, ["b", "c", "d"]), new Map([["b", 6n], ["c", 101n]]));
    assertEquals(await lookUp(dir, lines, ["a"]), new Map([["a", 6n]]));
    assertEquals(await lookUp(dir, lines, []), new Map());
    // A torn last line (an interrupted run) is no sample of the columns asked for.
    assertEquals(await lookUp(dir, lines, ["b"], "\n2024/03/01-10:30"), new Map([["b", 6n]]));
  });
});

Deno.test("log_back: a header with no sample under it is passed over; the original two have no header", async () => {
  await withTempDir(async (dir) => {
    const lines = [
      "2010/02/25-10:00:00\t7\t8",
      "2010/02/25-10:05:00\t9\t12",
      `${H}\tproxy\tb`,
      `${H}\tb`,
      "2010/02/25-10:10:00\t3",
    ];
    assertEquals(await lookUp(dir, lines, ["proxy", "non-network"]), new Map([["proxy", 9n], ["non-network", 12n]]));
  });
});

Deno.test("log_back: a damaged last line leaves its columns out (they start at their first value); no log, none", async () => {
  await withTempDir(async (dir) => {
    const lines = [
      `${H}\ta\tb`,
      "2024/03/01-10:00:00\t1\t2",
      "2024/03/01-10:05:00\t1\tx",
      `${H}\ta`,
      "2024/03/01-10:10:00\t3",
    ];
    assertEquals(await lookUp(dir, lines, ["b"]), new Map());
    // A damaged header: nothing above it is known (b's 2 is not taken under the wrong columns).
    const header = [`${H}\ta\tb`, "2024/03/01-10:00:00\t1\t2", `${H}\ta\ta`, `${H}\ta`, "2024/03/01-10:10:00\t3"];
    assertEquals(await lookUp(dir, header, ["b"]), new Map());
    assertEquals(await lookUp(dir, header.slice(2), ["b"]), new Map());
    assertEquals(lastLoggedValues(`${dir}/missing.log`, ["b"]), new Map());
  });
});

Deno.test("log_back: lines longer than a read (15,000 columns), exact far above 2^53", async () => {
  await withTempDir(async (dir) => {
    const names = Array.from({ length: 15_000 }, (_, i) => `m${i}`);
    const big = (row: number, i: number) => ((1n << 63n) + BigInt(row * 15_000 + i)).toString();
    const lines = [`${H}\t${names.join("\t")}`];
    for (let row = 0; row < 4; row++) {
      lines.push(`2024/03/01-10:0${row}:00\t${names.map((_, i) => big(row, i)).join("\t")}`);
    }
    lines.push(`${H}\tm0`, "2024/03/01-10:05:00\t1");
    const got = await lookUp(dir, lines, ["m1", "m7777", "m14999"]);
    assertEquals(
      got,
      new Map([["m1", BigInt(big(3, 1))], ["m7777", BigInt(big(3, 7777))], ["m14999", BigInt(big(3, 14999))]]),
    );
  });
});

Deno.test("log_back: an over-long line (a damaged region) stops the lookup there: what was found below it, no error", async () => {
  await withTempDir(async (dir) => {
    // 17 MiB of one line: over the 4 * MAX_LINE (16 MiB) that reading backward carries.
    const damaged = "x".repeat(17 << 20);
    const lines = [
      `${H}\ta\tb\tc`,
      "2024/03/01-10:00:00\t1\t2\t3",
      damaged,
      `${H}\ta\tb`,
      "2024/03/01-10:05:00\t4\t5",
      `${H}\ta`,
      "2024/03/01-10:10:00\t6",
    ];
    // b below the damage is found; c, only above it, starts at its first value, as after a damaged header.
    assertEquals(await lookUp(dir, lines, ["b", "c"]), new Map([["b", 5n]]));
    assertEquals(await lookUp(dir, lines, ["c"]), new Map());
    // Nor are the original two (no header) taken from above it.
    assertEquals(
      await lookUp(dir, ["2010/02/25-10:00:00\t7\t8", damaged, `${H}\ta`, "2024/03/01-10:10:00\t6"], ["proxy"]),
      new Map(),
    );
  });
});
