/**
 * The usage pages: pure checks of the HTML and SVG (escaping, palette,
 * partial periods, axis, size), and the pages opened from file:// in a real
 * headless chromium (no request leaves, no console error, not blank at
 * desktop and phone widths, a hostile name shows as text and runs nothing).
 */
import { deepEqual as assertEquals, ok } from "node:assert/strict";
import { formatBytes, formatPercent } from "../lib/outputs/html_text.ts";
import { customerFile, customerStem, overviewPage, type PageData, pageFiles } from "../lib/outputs/page.ts";
import { PALETTE, usageChart } from "../lib/outputs/svg_chart.ts";
import { browserTest, distinctColours, visit } from "./browser.ts";
import { withTempDir } from "./helpers.ts";
import { bigPage, smallPage, XSS_NAME } from "./page_fixture.ts";

const SEED = 2026;
// deno-lint-ignore no-console
console.log(`page tests: seed ${SEED}`);

Deno.test("chart: text escaped, Okabe-Ito colours, patterns past the palette, partial periods hatched and told", () => {
  const series = Array.from({ length: 10 }, (_, k) => ({ name: k === 0 ? "<b>&x</b>" : `s${k}`, values: [1n, 2n] }));
  const svg = usageChart({
    id: "t",
    title: "a <title> & more",
    periods: [{ label: "10-19" }, { label: "<10-20>", partial: true }],
    series,
  });
  ok(svg.includes('<title id="t-title">a &lt;title&gt; &amp; more</title>'));
  ok(svg.includes("&lt;b&gt;&amp;x&lt;/b&gt;") && !svg.includes("<b>"));
  ok(svg.includes("&lt;10-20&gt;*"));
  ok(/<desc id="t-desc">[^<]*Incomplete: &lt;10-20&gt;\.<\/desc>/.test(svg));
  for (const colour of PALETTE) ok(svg.includes(`fill="${colour}"`), colour);
  assertEquals(new Set(PALETTE).size, 8);
  ok(svg.includes('fill="url(#t-s8)"') && svg.includes('fill="url(#t-s9)"'), "series 9 and 10 get patterns");
  ok(svg.includes("hatched, *: incomplete"));
  // Every bar of the partial period (and only those) is hatched.
  assertEquals(svg.match(/fill="url\(#t-hatch\)" stroke/g)?.length, 10);
});

Deno.test("chart: the x axis is exactly the periods, bars start at zero, a log scale reaches the smallest value", () => {
  const svg = usageChart({
    id: "t",
    title: "t",
    periods: [{ label: "a" }, { label: "b" }, { label: "c" }],
    series: [{ name: "in", values: [0n, 1n << 20n, 1n << 30n] }],
    width: 700,
  });
  const bars = [...svg.matchAll(/<rect x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="([\d.]+)" fill="#0072B2">/g)]
    .map((m) => m.slice(1).map(Number));
  assertEquals(bars.length, 3);
  // Plot area 70..690: three bands of 206.7, each bar 70% of its band, centred.
  const band = 620 / 3;
  bars.forEach(([x, , w], i) => ok(Math.abs((x as number) + (w as number) / 2 - (70 + (i + 0.5) * band)) < 0.2));
  assertEquals(bars[0]?.[3], 0);
  ok(svg.includes(">1 GiB</text>"), "linear axis tops at a round 1 GiB");
  const log = usageChart({
    id: "t",
    title: "t",
    log: true,
    periods: [{ label: "a" }, { label: "b" }],
    series: [{ name: "in", values: [1n << 10n, 1n << 30n] }],
  });
  ok(log.includes(">1 KiB</text>") && log.includes(">1 GiB</text>"), "log ticks from 1 KiB to 1 GiB");
  ok(log.includes("log scale"));
});

Deno.test("pages: names escaped everywhere, file names safe, each page under 500 KB for a year of data", () => {
  const data = smallPage(SEED);
  const files = pageFiles(data);
  assertEquals(files.map((f) => f.name), [
    "index.html",
    "acme.html",
    "_3Cimg_20src_3Dx_20onerror_3Dalert_281_29_3E.html",
    "bigco_20_26_20_22sons_22_20_27ltd_27.html",
    "tiny.html",
  ]);
  for (const f of files) {
    ok(!f.html.includes("<img"), `${f.name} has no img markup`);
    ok(!/<script/i.test(f.html), `${f.name} has no script`);
    ok(f.html.length < 500_000, `${f.name} is ${f.html.length} bytes`);
  }
  ok(files[0]?.html.includes("&lt;img src=x onerror=alert(1)&gt;"));
  assertEquals(customerStem("index"), "_index");
  assertEquals(customerStem("../x"), "_2E_2E_2Fx");
  assertEquals(customerFile(""), "_.html");
  // A long name in another script (64 characters of 2 bytes: 384 of `_XX`) still fits a file name (255 bytes),
  // and two such names that differ only at the end still get two files.
  const long = "Ж".repeat(63);
  for (const name of [long + "Ж", long + "Щ", "x".repeat(64)]) {
    const file = customerFile(name);
    ok(new TextEncoder().encode(file).length <= 255, `${file.length} bytes`);
    ok(/^[A-Za-z0-9_-]+\.html$/.test(file), file);
  }
  ok(customerStem(long + "Ж") !== customerStem(long + "Щ"));
  assertEquals(customerStem("x".repeat(64)), "x".repeat(64));
  const big = pageFiles(bigPage(SEED, 3));
  for (const f of big) ok(f.html.length < 500_000, `${f.name} is ${f.html.length} bytes`);
});

Deno.test("the overview shows the picture beside it, relatively linked, sized, its names escaped; none without data", () => {
  const data = smallPage(SEED);
  ok(!overviewPage(data).includes("<img"), "no picture given, none shown");
  const picture = { file: `a "b"<c>.png`, width: 640, height: 320, alt: `Graph "<b>" & more` };
  const html = overviewPage({ ...data, picture });
  const src = "a%20%22b%22%3Cc%3E.png";
  ok(
    html.includes(
      `<a href="${src}"><img class="graph" src="${src}" width="640" height="320" alt="Graph &quot;&lt;b&gt;&quot; &amp; more"></a>`,
    ),
    html,
  );
  // Images from the page's own directory only: nothing from anywhere else.
  ok(html.includes(`content="default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:"`));
  assertEquals(html.match(/<img/g)?.length, 1);
  // No data yet: the picture says so itself; the page does not show it.
  const empty: PageData = { title: "gw1", generated: "2026-10-20T12:00:00+00:00", customers: [], picture };
  ok(!overviewPage(empty).includes("<img"));
});

Deno.test("an empty log gives a page saying no data yet", () => {
  const empty: PageData = { title: "gw1", generated: "2026-10-20T12:00:00+00:00", customers: [] };
  const html = overviewPage(empty);
  ok(html.includes("No data yet."));
  assertEquals(pageFiles(empty).map((f) => f.name), ["index.html"]);
});

Deno.test("the overview page's title is the page's, said once, as its heading", () => {
  const data = { ...smallPage(SEED), title: "netmon: network usage" };
  for (const d of [data, { ...data, customers: [] }]) {
    const html = overviewPage(d);
    ok(html.includes("<title>netmon: network usage</title>"), html.slice(0, 400));
    ok(html.includes("<h1>netmon: network usage</h1>"), html.slice(0, 400));
  }
});

browserTest(
  "the pages in chromium: nothing leaves, no error, not blank, figures shown, a hostile name is text",
  async (b) => {
    await withTempDir(async (dir) => {
      const data = smallPage(SEED);
      for (const f of pageFiles(data)) await Deno.writeTextFile(`${dir}/${f.name}`, f.html);
      const overview = await visit(b, `file://${dir}/index.html`, (page) =>
        page.evaluate(`(() => {
        const rows = [...document.querySelectorAll("tbody tr")].map((tr) =>
          [...tr.querySelectorAll("td")].map((td) => td.textContent.trim()));
        return { rows, imgs: document.querySelectorAll("img").length, title: document.querySelector("h1").textContent };
      })()`) as Promise<{ rows: string[][]; imgs: number; title: string }>);
      assertEquals(overview.leaving, []);
      assertEquals(overview.errors, []);
      assertEquals(overview.dialogs, []);
      assertEquals(overview.phoneOverflow, 0);
      for (const shot of [overview.shots.desktop, overview.shots.phone]) ok(distinctColours(shot) > 16, "not blank");
      const seen = overview.inspected as { rows: string[][]; imgs: number; title: string };
      assertEquals(seen.imgs, 0);
      assertEquals(seen.title, "gw1 <netmon>");
      assertEquals(seen.rows.map((r) => r[0]), data.customers.map((c) => c.name));
      data.customers.forEach((c, i) => {
        const row = seen.rows[i] as string[];
        assertEquals(row[2], c.cycle.soFar.in === undefined ? "\u2013" : formatBytes(c.cycle.soFar.in));
        assertEquals(row[4], formatBytes(c.cycle.soFar.total));
        assertEquals(row[5], formatBytes(c.cycle.projection as bigint));
        assertEquals(row[8], formatPercent(c.cycle.coverage));
      });
      ok(seen.rows[3]?.[10]?.includes("no sample for 30 hours"), "the stale customer is flagged");
      ok(!seen.rows[0]?.[10]?.includes("no sample"), "a fresh customer is not");

      for (const c of data.customers) {
        const v = await visit(b, `file://${dir}/${customerFile(c.name)}`, (page) =>
          page.evaluate(`(() => ({
          h1: document.querySelector("h1").textContent,
          imgs: document.querySelectorAll("img").length,
          charts: [...document.querySelectorAll("svg.chart")].map((s) =>
            [s.querySelector("title").textContent, s.querySelectorAll("rect[width]").length > 10]),
          cycles: document.querySelectorAll("h2 + table tbody tr").length,
          csv: document.querySelector("a[download]").getAttribute("href"),
        }))()`) as Promise<{ h1: string; imgs: number; charts: [string, boolean][]; cycles: number; csv: string }>);
        assertEquals([v.leaving, v.errors, v.dialogs, v.phoneOverflow], [[], [], [], 0], c.name);
        for (const shot of [v.shots.desktop, v.shots.phone]) ok(distinctColours(shot) > 16, `${c.name}: not blank`);
        const seenC = v.inspected as {
          h1: string;
          imgs: number;
          charts: [string, boolean][];
          cycles: number;
          csv: string;
        };
        assertEquals(seenC.h1, c.name);
        assertEquals(seenC.imgs, 0);
        assertEquals(seenC.charts, [
          [`${c.name}: daily usage this cycle`, true],
          [`${c.name}: daily usage in the previous cycle`, true],
        ]);
        assertEquals(seenC.cycles, 12);
        assertEquals(decodeURIComponent(seenC.csv), c.csv);
      }
      ok(data.customers.some((c) => c.name === XSS_NAME));
    });
  },
);

browserTest("the no-data page in chromium: says so, nothing leaves, not blank", async (b) => {
  await withTempDir(async (dir) => {
    const empty: PageData = { title: "gw1", generated: "2026-10-20T12:00:00+00:00", customers: [] };
    await Deno.writeTextFile(`${dir}/index.html`, overviewPage(empty));
    const v = await visit(b, `file://${dir}/index.html`, (page) => page.evaluate("document.body.innerText"));
    assertEquals([v.leaving, v.errors, v.dialogs, v.phoneOverflow], [[], [], [], 0]);
    ok(String(v.inspected).includes("No data yet."));
    ok(distinctColours(v.shots.phone) > 16);
  });
});

Deno.test("a stale customer's age is said in the unit that fits: seconds, minutes, hours, days, never '0 minutes'", () => {
  const page = smallPage(SEED);
  const c = page.customers[0]!;
  const generated = Date.parse(page.generated);
  const staleBy = (seconds: number, interval: number) => {
    const lastSample = new Date(generated - seconds * 1000).toISOString().replace(/\.\d+Z$/, "+00:00");
    const html = overviewPage({ ...page, customers: [{ ...c, lastSample, interval }] });
    return /no sample for ([^(<]*) \(more than three intervals\)/.exec(html)?.[1];
  };
  assertEquals(staleBy(40, 10), "40 seconds");
  assertEquals(staleBy(60, 10), "1 minute");
  assertEquals(staleBy(119, 10), "1 minute");
  assertEquals(staleBy(20 * 60, 300), "20 minutes");
  assertEquals(staleBy(3 * 3600, 300), "3 hours");
  assertEquals(staleBy(30 * 3600, 300), "30 hours");
  assertEquals(staleBy(50 * 3600, 300), "2 days");
  assertEquals(staleBy(10, 10), undefined, "within three intervals: not stale");
});
