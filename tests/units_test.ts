import { deepEqual as assertEquals } from "node:assert/strict";
import {
  bytesShareText,
  humanReadable,
  humanReadableExact,
  percentText,
  quotaBytes,
  siBytes,
} from "../lib/usage/units.ts";
import { formatPercent } from "../lib/outputs/html_text.ts";
import { seededRandom } from "./random.ts";

// Expected strings are what the original human_readable() printed, computed
// with Python's "%.2f" (python3 gives the same as python2 here), extended
// past G to T and P where the original printed "None" or stayed on G.
const CASES: [bigint, string][] = [
  [0n, "0"],
  [1n, "1"],
  [1023n, "1023"],
  [1024n, "1.00K"],
  [1152n, "1.12K"], // exact tie 1.125: Python rounds half to even, JS toFixed gives 1.13
  [1153n, "1.13K"],
  [1535n, "1.50K"],
  [1536n, "1.50K"],
  [1184n, "1.16K"],
  [1048570n, "1023.99K"],
  [1048575n, "1024.00K"], // the original checked < 1024 before rounding
  [1048576n, "1.00M"],
  [1073741823n, "1024.00M"],
  [3221225477n, "3.00G"],
  [1099511627776n, "1.00T"], // exactly 1024 G: the original printed None
  [9007199254740993n, "8.00P"], // above 2^53: rounded to a double first, as Python did
  [9223372036854775808n, "8192.00P"],
  [18446744073709551615n, "16384.00P"],
];

Deno.test("humanReadable matches the original's output and fixes its gaps", () => {
  for (const [bytes, text] of CASES) assertEquals(humanReadable(bytes), text, `for ${bytes}`);
});

Deno.test("humanReadable never returns an empty or undefined value around unit boundaries", () => {
  for (let shift = 10n; shift <= 60n; shift += 10n) {
    for (const delta of [-1n, 0n, 1n]) {
      const v = (1024n << shift) + delta;
      const text = humanReadable(v);
      if (!/^\d+(\.\d\d[KMGTP])?$/.test(text)) throw new Error(`${v} gave ${JSON.stringify(text)}`);
    }
  }
});

Deno.test("the fast path for counts below 2^46 agrees with the BigInt reference", () => {
  const values: bigint[] = [];
  for (let shift = 10n; shift <= 47n; shift++) {
    // Around every power of two, and exact ties (x.xx5 at each unit) just above it.
    for (const delta of [-3n, -1n, 0n, 1n, 5n]) values.push((1n << shift) + delta);
    for (let k = 1n; k < 40n; k += 3n) values.push((k << (shift - 3n)) + (1n << shift));
  }
  const random = seededRandom("humanReadable fast path");
  for (let i = 0; i < 20000; i++) values.push(BigInt(Math.floor(random() * 2 ** 46)));
  for (const v of values) assertEquals(humanReadable(v), humanReadableExact(v), `for ${v}`);
});

Deno.test("a share is one percentage everywhere: rounded to the nearest tenth, never 100.0% below the whole", () => {
  // The page floored (59.59% as 59.5%) where `netmon check`, the alerts and digests rounded (59.6%), and those
  // showed 99.96% of a quota as 100.0%, a quota used up that was not.
  for (
    const [share, text] of [
      [0, "0.0%"],
      [0.5959, "59.6%"],
      [0.5951, "59.5%"],
      [0.59549, "59.5%"],
      [0.9994, "99.9%"],
      [0.9996, "99.9%"],
      [0.99999999, "99.9%"],
      [1, "100.0%"],
      [1.0004, "100.0%"],
      [1.2346, "123.5%"],
    ] as const
  ) {
    assertEquals(percentText(share), text, String(share));
    assertEquals(formatPercent(share), text, `page: ${share}`);
  }
});

Deno.test("a share of bytes is below the whole when the bytes say so, not the float ratio", () => {
  const quota = 10n ** 18n;
  assertEquals(bytesShareText(quota - 1n, quota), "99.9%");
  assertEquals(bytesShareText(quota, quota), "100.0%");
  assertEquals(bytesShareText(quota + 1n, quota), "100.0%");
  assertEquals(bytesShareText(596n, 1000n), "59.6%");
});

Deno.test("a quota written in kB..PB is shown in them (SI, two decimals, ties to even); one in KiB..PiB in IEC", () => {
  // The walkthrough's: quota = "2 MB" read "1.91 MiB", a "500 GB" contract "465.66 GiB".
  for (
    const [bytes, text] of [
      [0n, "0 B"],
      [999n, "999 B"],
      [1000n, "1.00 kB"],
      [1005n, "1.00 kB"], // a tie, to even
      [1015n, "1.02 kB"],
      [999_995n, "1.00 MB"], // 999.995 kB rounds to 1000.00 kB: said as 1.00 MB
      [2_000_000n, "2.00 MB"],
      [21_470_000n, "21.47 MB"],
      [500n * 10n ** 9n, "500.00 GB"],
      [18446744073709551615n, "18.45 EB"],
    ] as const
  ) {
    assertEquals(siBytes(bytes), text, String(bytes));
  }
  assertEquals(quotaBytes(2_000_000n, true), "2.00 MB");
  assertEquals(quotaBytes(2_000_000n, false), "1.91 MiB");
  assertEquals(quotaBytes(500n * 10n ** 9n, true), "500.00 GB");
});
