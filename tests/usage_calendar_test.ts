/**
 * Calendar buckets and zones: daylight-saving changes in the machine's zone
 * (a child process with TZ set) and in a billing zone (IANA), billing cycles
 * on every cycle day across short months and leap years.
 */
import { deepEqual as assertEquals, ok, throws } from "node:assert/strict";
import { type Bucket, calendar, checkCycleDay, type Unit, UNITS } from "../lib/usage/calendar.ts";
import { firstInstant, ianaZone, isoWithOffset, wallOf, type Zone, zoneNamed } from "../lib/usage/zone.ts";

const H = 3_600_000;
const D = 24 * H;
const berlin = ianaZone("Europe/Berlin");

/** The buckets of `unit` from the one holding `from` while they start before `to`. */
function walk(unit: Unit, zone = berlin, from: number, to: number, cycleDay = 1): Bucket[] {
  const cal = calendar(unit, zone, cycleDay);
  const out: Bucket[] = [];
  for (let b = cal.bucketAt(from); b.start < to; b = cal.next(b)) out.push(b);
  return out;
}

Deno.test("hours in Berlin: the skipped hour has no bucket, the repeated hour is one bucket of two hours", () => {
  const spring = walk("hour", berlin, Date.UTC(2026, 2, 28, 23), Date.UTC(2026, 2, 29, 3));
  assertEquals(spring.map((b) => [b.label, (b.end - b.start) / H]), [
    ["2026-03-29 00:00", 1],
    ["2026-03-29 01:00", 1],
    ["2026-03-29 03:00", 1],
    ["2026-03-29 04:00", 1],
  ]);
  const autumn = walk("hour", berlin, Date.UTC(2026, 9, 24, 23), Date.UTC(2026, 9, 25, 4));
  assertEquals(autumn.map((b) => [b.label, (b.end - b.start) / H]), [
    ["2026-10-25 01:00", 1],
    ["2026-10-25 02:00", 2],
    ["2026-10-25 03:00", 1],
    ["2026-10-25 04:00", 1],
  ]);
  // 02:30 summer time and 02:30 winter time are both in the one 02:00 bucket.
  const cal = calendar("hour", berlin);
  assertEquals(cal.bucketAt(Date.UTC(2026, 9, 25, 0, 30)).label, "2026-10-25 02:00");
  assertEquals(cal.bucketAt(Date.UTC(2026, 9, 25, 1, 30)).label, "2026-10-25 02:00");
  assertEquals(cal.bucketAt(Date.UTC(2026, 9, 25, 1, 30)).start, Date.UTC(2026, 9, 25, 0));
});

Deno.test("days, weeks, months and years in Berlin start at local midnight and last 23 or 25 hours on change days", () => {
  const days = walk("day", berlin, Date.UTC(2026, 2, 28, 12), Date.UTC(2026, 2, 30, 12));
  assertEquals(days.map((b) => [b.label, b.start, (b.end - b.start) / H]), [
    ["2026-03-28", Date.UTC(2026, 2, 27, 23), 24],
    ["2026-03-29", Date.UTC(2026, 2, 28, 23), 23],
    ["2026-03-30", Date.UTC(2026, 2, 29, 22), 24],
  ]);
  assertEquals(calendar("day", berlin).bucketAt(Date.UTC(2026, 9, 25, 12)).end - Date.UTC(2026, 9, 24, 22), 25 * H);
  const week = calendar("week", berlin).bucketAt(Date.UTC(2026, 9, 25, 12)); // a Sunday
  assertEquals([week.label, week.start, week.end], [
    "2026-10-19 .. 2026-10-25",
    Date.UTC(2026, 9, 18, 22),
    Date.UTC(2026, 9, 25, 23),
  ]);
  const month = calendar("month", berlin).bucketAt(Date.UTC(2026, 2, 15));
  assertEquals([month.label, month.start, month.end], [
    "2026-03",
    Date.UTC(2026, 1, 28, 23),
    Date.UTC(2026, 2, 31, 22),
  ]);
  const year = calendar("year", berlin).bucketAt(Date.UTC(2026, 11, 31, 23, 30)); // already 2027 in Berlin
  assertEquals([year.label, year.start], ["2027", Date.UTC(2026, 11, 31, 23)]);
});

Deno.test("a billing cycle in Berlin starts at midnight there whatever the offset, and is labelled with real dates", () => {
  const cal = calendar("cycle", berlin, 15);
  const b = cal.bucketAt(Date.UTC(2026, 9, 20));
  assertEquals([b.label, b.start, b.end], [
    "2026-10-15 .. 2026-11-14",
    Date.UTC(2026, 9, 14, 22), // CEST
    Date.UTC(2026, 10, 14, 23), // CET: the cycle is 31 days and one hour
  ]);
  // One millisecond before the cut-off is still the previous cycle.
  assertEquals(cal.bucketAt(Date.UTC(2026, 9, 14, 22) - 1).label, "2026-09-15 .. 2026-10-14");
  assertEquals(cal.next(b).label, "2026-11-15 .. 2026-12-14");
});

Deno.test("cycle day 31 across February, in common and leap years", () => {
  const labels = (year: number) =>
    walk("cycle", ianaZone("UTC"), Date.UTC(year, 0, 31), Date.UTC(year, 4, 1), 31).map((b) => b.label);
  assertEquals(labels(2026), [
    "2026-01-31 .. 2026-02-27",
    "2026-02-28 .. 2026-03-30",
    "2026-03-31 .. 2026-04-29",
    "2026-04-30 .. 2026-05-30",
  ]);
  assertEquals(labels(2028), [
    "2028-01-31 .. 2028-02-28",
    "2028-02-29 .. 2028-03-30",
    "2028-03-31 .. 2028-04-29",
    "2028-04-30 .. 2028-05-30",
  ]);
  // 2100 is not a leap year, 2000 was.
  assertEquals(calendar("cycle", ianaZone("UTC"), 29).bucketAt(Date.UTC(2100, 2, 1)).label, "2100-02-28 .. 2100-03-28");
  assertEquals(calendar("cycle", ianaZone("UTC"), 29).bucketAt(Date.UTC(2000, 2, 1)).label, "2000-02-29 .. 2000-03-28");
});

Deno.test("years 0 to 99 (a log's stamps and --from may be in them): buckets in those years, not 1900 to 1999", () => {
  const utc = ianaZone("UTC");
  // Date.UTC would read these years as 1900 to 1999.
  const at = (y: number, m: number, d: number) => new Date(0).setUTCFullYear(y, m, d);
  const held = (unit: Unit, epoch: number, cycleDay = 1) => {
    const b = calendar(unit, utc, cycleDay).bucketAt(epoch);
    ok(b.start <= epoch && epoch < b.end, `${unit} ${b.label} holds its instant`);
    return b.label;
  };
  assertEquals(held("month", at(50, 2, 15)), "0050-03");
  assertEquals(held("year", at(99, 11, 31)), "0099");
  assertEquals(held("cycle", at(50, 2, 20), 15), "0050-03-15 .. 0050-04-14");
  // Year 0 is a leap year (divisible by 400), 1900 was not; year 100 is not.
  assertEquals(held("cycle", at(0, 2, 1), 31), "0000-02-29 .. 0000-03-30");
  assertEquals(held("cycle", at(100, 2, 1), 31), "0100-02-28 .. 0100-03-30");
});

Deno.test("every cycle day 1-31 over 2023-2029: cycles start on min(day, month length), touch, and hold their instants", () => {
  const utc = ianaZone("UTC");
  for (let day = 1; day <= 31; day++) {
    const cycles = walk("cycle", utc, Date.UTC(2023, 0, 1), Date.UTC(2030, 0, 1), day);
    for (let k = 0; k < cycles.length; k++) {
      const c = cycles[k] as Bucket;
      const d = new Date(c.start);
      const monthLength = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)).getUTCDate();
      assertEquals(d.getUTCDate(), Math.min(day, monthLength), `day ${day}, ${c.label}`);
      assertEquals(d.getUTCHours(), 0);
      if (k > 0) assertEquals(c.start, (cycles[k - 1] as Bucket).end);
      const cal = calendar("cycle", utc, day);
      assertEquals(cal.bucketAt(c.start).label, c.label);
      assertEquals(cal.bucketAt(c.end - 1).label, c.label);
      ok(c.label.startsWith(new Date(c.start).toISOString().slice(0, 10)));
      ok(c.label.endsWith(new Date(c.end - D).toISOString().slice(0, 10)));
    }
    assertEquals(cycles.length, 7 * 12 + (day === 1 ? 0 : 1));
  }
});

/** The buckets of instants, as text, for comparing zones. */
function describe(zone: Zone, instants: number[]): string[] {
  const out: string[] = [];
  for (const unit of UNITS) {
    const cal = calendar(unit, zone, 31);
    for (const t of instants) {
      const b = cal.bucketAt(t);
      const n = cal.next(b);
      out.push(`${unit} ${t} ${b.label} ${b.start} ${b.end} ${n.label} ${n.start}`);
    }
  }
  return out;
}

/** Instants every 20 minutes around each change of 2026 (and a few more) in the zones tested. */
function aroundChanges(): number[] {
  const out: number[] = [];
  const around = [
    Date.UTC(2026, 2, 8, 7), // New York, spring
    Date.UTC(2026, 10, 1, 6), // New York, autumn
    Date.UTC(2026, 2, 29, 1), // Berlin
    Date.UTC(2026, 9, 25, 1),
    Date.UTC(2026, 3, 4, 16), // Sydney, autumn (southern)
    Date.UTC(2026, 9, 3, 16),
    Date.UTC(2026, 8, 6, 4), // Santiago: the change is at midnight
    Date.UTC(2026, 3, 5, 3),
  ];
  for (const c of around) for (let t = c - 4 * H; t <= c + 4 * H; t += 20 * 60_000) out.push(t);
  return out;
}

for (const tz of ["America/New_York", "Europe/Berlin", "Australia/Sydney", "America/Santiago"]) {
  Deno.test(`the machine's zone (TZ=${tz}, a child process) gives the same buckets as the IANA zone ${tz}`, async () => {
    const instants = aroundChanges();
    const code = `
      import { calendar, UNITS } from ${JSON.stringify(new URL("../lib/usage/calendar.ts", import.meta.url).href)};
      import { localZone } from ${JSON.stringify(new URL("../lib/usage/zone.ts", import.meta.url).href)};
      const zone = localZone();
      const out = [];
      for (const unit of UNITS) {
        const cal = calendar(unit, zone, 31);
        for (const t of ${JSON.stringify(instants)}) {
          const b = cal.bucketAt(t);
          const n = cal.next(b);
          out.push(unit + " " + t + " " + b.label + " " + b.start + " " + b.end + " " + n.label + " " + n.start);
        }
      }
      Deno.stdout.writeSync(new TextEncoder().encode(JSON.stringify(out)));`;
    const child = await new Deno.Command(Deno.execPath(), {
      args: ["eval", "--no-check", code],
      env: { TZ: tz, NO_COLOR: "1" },
      clearEnv: true,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assertEquals(child.code, 0, new TextDecoder().decode(child.stderr));
    const local = JSON.parse(new TextDecoder().decode(child.stdout));
    assertEquals(local, describe(ianaZone(tz), instants));
  });
}

Deno.test("in several zones, every bucket holds its instants, follows the one before, and starts at its wall-clock start or the jump over it", () => {
  for (const name of ["Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "America/Santiago", "Asia/Kolkata"]) {
    const zone = ianaZone(name);
    for (const unit of UNITS) {
      const cal = calendar(unit, zone, 30);
      for (const t of aroundChanges()) {
        const b = cal.bucketAt(t);
        ok(b.start <= t && t < b.end, `${name} ${unit} ${t}`);
        const n = cal.next(b);
        assertEquals(n.start, b.end);
        ok(n.end > n.start);
        // The wall clock at the start reads the wall start, or later after a jump over it.
        ok(
          wallOf(zone, b.start) >= b.wallStart && wallOf(zone, b.start - 1) < b.wallStart,
          `${name} ${unit} ${b.label}`,
        );
      }
    }
  }
  // Lord Howe moves by half an hour: its 02:00 hour is 30 minutes long in spring.
  const lh = ianaZone("Australia/Lord_Howe");
  assertEquals(firstInstant(lh, Date.UTC(2026, 9, 4, 2)), Date.UTC(2026, 9, 3, 15, 30));
  const h = calendar("hour", lh).bucketAt(Date.UTC(2026, 9, 3, 15, 30));
  assertEquals([h.label, (h.end - h.start) / 60_000], ["2026-10-04 02:00", 30]);
});

Deno.test("an unknown time zone, a cycle day of 0 or 32 and an unknown unit are one clear error each", () => {
  throws(() => ianaZone("Mars/Olympus_Mons"), /^RangeError: Unknown time zone "Mars\/Olympus_Mons": use an IANA name/);
  throws(() => ianaZone(""), /Unknown time zone ""/);
  throws(() => ianaZone("+01:00"), /Unknown time zone "\+01:00"/);
  for (const day of [0, 32, 1.5, NaN]) {
    throws(
      () => checkCycleDay(day),
      new RegExp(`^RangeError: Cycle day ${day} is out of range: use a day of the month from 1 to 31$`),
    );
    throws(() => calendar("cycle", berlin, day), /out of range/);
  }
  throws(
    () => calendar("fortnight" as Unit, berlin),
    /^RangeError: Unknown bucket "fortnight": use one of hour, day, week/,
  );
  assertEquals(zoneNamed("Europe/Berlin").name, "Europe/Berlin");
  assertEquals(zoneNamed().name, "local");
});

Deno.test("ISO 8601 with the zone's offset", () => {
  assertEquals(isoWithOffset(berlin, Date.UTC(2026, 9, 14, 22)), "2026-10-15T00:00:00+02:00");
  assertEquals(isoWithOffset(berlin, Date.UTC(2026, 10, 14, 23)), "2026-11-15T00:00:00+01:00");
  assertEquals(isoWithOffset(ianaZone("America/St_Johns"), Date.UTC(2026, 0, 1, 3, 30)), "2026-01-01T00:00:00-03:30");
  assertEquals(isoWithOffset(ianaZone("UTC"), Date.UTC(2026, 0, 1)), "2026-01-01T00:00:00+00:00");
});

Deno.test("IANA zones: names and offsets are a date formatter's, for every zone the runtime lists and aliases", () => {
  const names = [...Intl.supportedValuesOf("timeZone"), "UTC", "utc", "Etc/UTC", "GMT", "US/Eastern", "Asia/Calcutta"];
  let compared = 0;
  for (const name of names) {
    const format = new Intl.DateTimeFormat("en-US", {
      timeZone: name,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
    });
    const zone = ianaZone(name);
    assertEquals(zone.name, format.resolvedOptions().timeZone, name);
    // Every 97 days and a few hours from 1900 to 2040: LMT offsets in seconds, DST rules old and new.
    for (let second = Date.UTC(1900, 0, 1); second < Date.UTC(2040, 0, 1); second += 97 * 86_400_000 + 11_111_000) {
      const f: Record<string, string> = {};
      for (const p of format.formatToParts(second)) f[p.type] = p.value;
      const wall = Date.UTC(+f.year!, +f.month! - 1, +f.day!, +f.hour!, +f.minute!, +f.second!);
      const offset = zone.offsetAt(second + 999);
      if (offset !== wall - second) assertEquals(offset, wall - second, `${name} at ${new Date(second).toISOString()}`);
      compared++;
    }
  }
  ok(compared > 100_000, `${compared} instants compared`);
  throws(() => ianaZone("Mars/Olympus"), /^RangeError: Unknown time zone "Mars\/Olympus"/);
  throws(() => ianaZone("+01:00"), /^RangeError: Unknown time zone/);
});
