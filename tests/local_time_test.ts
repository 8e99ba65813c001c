/**
 * Local time: the original's stamp, and wall times to instants across
 * daylight-saving changes, in a child Deno whose TZ is set (the machine's
 * zone is the log's zone, so the zone must be the process's own).
 *
 * @module
 */

import { deepEqual as assertEquals } from "node:assert/strict";
import { formatTimestamp, isTimestamp, stampToNaive } from "../lib/usage/local_time.ts";

const MODULE = new URL("../lib/usage/zone.ts", import.meta.url).href;

/** Runs `code` (with `z` bound to lib/usage/zone.ts) in a Deno whose local zone is `tz`; returns its JSON output. */
async function inZone(tz: string, code: string): Promise<unknown> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "eval",
      `import * as z from "${MODULE}"; const local = z.localZone(); console.log(JSON.stringify(${code}));`,
    ],
    env: { TZ: tz, NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
  return JSON.parse(new TextDecoder().decode(out.stdout));
}

Deno.test("the stamp is the original's %d/%.2d/%.2d-%.2d:%.2d:%.2d, and only real dates and times pass", () => {
  assertEquals(formatTimestamp(new Date(2010, 1, 25, 9, 5, 0)), "2010/02/25-09:05:00");
  assertEquals(stampToNaive("2026/10/25-02:30:00"), Date.UTC(2026, 9, 25, 2, 30));
  for (const good of ["2024/02/29-23:59:59", "2026/12/31-00:00:00", "2016/12/31-23:59:60"]) {
    assertEquals(isTimestamp(good), true, good);
  }
  for (const bad of ["2026/02/29-10:00:00", "2026/13/01-10:00:00", "2026/01/01-24:00:00", "2026-01-01 10:00:00", ""]) {
    assertEquals(isTimestamp(bad), false, bad);
  }
});

Deno.test("a stamp in years 0 to 99 is read in that year (not 1900 to 1999), and 0000/02/29 is a real date", () => {
  assertEquals(stampToNaive("0050/03/15-10:00:00"), new Date(0).setUTCFullYear(50, 2, 15) + 10 * 3_600_000);
  assertEquals(isTimestamp("0000/02/29-12:00:00"), true, "year 0 is a leap year (divisible by 400)");
  assertEquals(isTimestamp("0100/02/29-12:00:00"), false, "year 100 is not");
});

Deno.test("Berlin: the skipped spring hour has no length, the repeated autumn hour is read forward twice", async () => {
  const got = await inZone(
    "Europe/Berlin",
    `(() => {
      const spring = z.wallToInstant(local, Date.UTC(2026, 2, 29, 2, 30)); // 02:30 never happened
      const first = z.resolveWall(local, Date.UTC(2026, 9, 25, 2, 30)); // 02:30 summer time
      const later = z.resolveWall(local, Date.UTC(2026, 9, 25, 2, 40), first); // still summer time
      const again = z.resolveWall(local, Date.UTC(2026, 9, 25, 2, 10), later); // the hour again, winter time
      return [spring, first.epoch, later.epoch, again.epoch];
    })()`,
  );
  assertEquals(got, [
    Date.UTC(2026, 2, 29, 1, 30), // read with the offset from before the change (+01:00)
    Date.UTC(2026, 9, 25, 0, 30), // +02:00
    Date.UTC(2026, 9, 25, 0, 40),
    Date.UTC(2026, 9, 25, 1, 10), // +01:00
  ]);
});

Deno.test("New York and UTC: a plain wall time is one instant", async () => {
  assertEquals(
    await inZone("America/New_York", "z.wallToInstant(local, Date.UTC(2026, 6, 1, 12))"),
    Date.UTC(2026, 6, 1, 16),
  );
  assertEquals(await inZone("UTC", "z.wallToInstant(local, Date.UTC(2026, 6, 1, 12))"), Date.UTC(2026, 6, 1, 12));
});
