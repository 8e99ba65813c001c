/**
 * The dates `--from` and `--to` take (lib/cli/dates.ts), in-process: the
 * wall time they name, and one clear error for a date there is none of,
 * across leap years and in years 0 to 99, which the form allows.
 *
 * @module
 */

import { deepEqual as assertEquals, throws } from "node:assert/strict";
import { parseDate } from "../lib/cli/dates.ts";

const at = (y: number, m: number, d: number) => new Date(0).setUTCFullYear(y, m, d);

Deno.test("a date, or a date and time, is its wall time as naive ms, in any year the form allows", () => {
  assertEquals(parseDate("from", "2026-10-15 06:30"), Date.UTC(2026, 9, 15, 6, 30));
  assertEquals(parseDate("to", "2028-02-29"), Date.UTC(2028, 1, 29));
  // Date.UTC would read these years as 1900 to 1999.
  assertEquals(parseDate("from", "0050-03-15 10:00"), at(50, 2, 15) + 10 * 3_600_000);
  assertEquals(parseDate("from", "0000-02-29"), at(0, 1, 29));
});

Deno.test("a day the month does not have is refused, naming the month's length, in leap and common years", () => {
  const refused = (text: string, why: string) =>
    throws(() => parseDate("from", text), { name: "UsageError", message: `--from ${text}: ${why}` });
  refused("2026-02-29", "day 29 is out of range (February 2026 has 28 days)");
  refused("2100-02-29", "day 29 is out of range (February 2100 has 28 days)");
  refused("0100-02-29", "day 29 is out of range (February 0100 has 28 days)");
  refused("0000-02-30", "day 30 is out of range (February 0000 has 29 days)");
  refused("2026-04-31", "day 31 is out of range (April 2026 has 30 days)");
  refused("2026-00-10", "month 00 is out of range (01 to 12)");
});
