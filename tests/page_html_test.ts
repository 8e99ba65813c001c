/**
 * `graph.ts --html DIR` end to end: a seeded log (customers split by
 * direction, a counter reset and a recorded one, a gap, a customer whose
 * meter was removed) and a config, graph.ts run as a subprocess under umask
 * 077, each page opened from file:// in a real chromium. The figures the
 * pages show equal the summary CSV's, computed here in-process with the
 * usage engine and lib/usage/csv.ts; the CSV files beside the pages equal it
 * byte for byte. Nothing leaves a page, nothing errs, nothing is blank, a
 * hostile name is text, an empty or missing log says "no data yet", and the
 * modes are 0644 and 0755.
 *
 * TODO(summary): when `netmon summary` is on main, take the expected CSV from
 * `netmon summary --by cycle --csv --meter NAME` instead of the in-process
 * pipeline below.
 */
import { deepEqual as assertEquals, ok } from "node:assert/strict";
import { formatBytes, formatPercent, formatRate } from "../lib/outputs/html_text.ts";
import { parseConfig } from "../lib/config/config.ts";
import { customerFile, customerPage, customerStem, type CycleRow, overviewPage } from "../lib/outputs/page.ts";
import { allColumns } from "../lib/config/meters.ts";
import { buildPageData } from "../lib/outputs/page_data.ts";
import { calendar } from "../lib/usage/calendar.ts";
import { customerColumns, type CustomerSpec } from "../lib/config/customers.ts";
import { csvChunks } from "../lib/usage/csv.ts";
import { type Sample, UsageEngine } from "../lib/usage/engine.ts";
import { LATE, lateMeterSamples } from "./late_meter.ts";
import { linesOfFile, returningOf, returnsOf, samplesOf } from "../lib/usage/log_samples.ts";
import { rowsOf } from "../lib/usage/rows.ts";
import { ianaZone } from "../lib/usage/zone.ts";
import { browserTest, distinctColours, visit } from "./browser.ts";
import { GRAPH, type Result, run, withTempDir } from "./helpers.ts";
import { seededRandom } from "./random.ts";

const XSS = "<img src=x onerror=alert(1)>";
const DASH = "\u2013";
const CONFIG = `source = "interface"
[billing]
cycle_day = 15
timezone = "Europe/Berlin"

[[customer]]
name = "acme"
meters = ["acme"]
quota = "2 TiB"

[[customer]]
name = "globex"
meters = ["globex"]

[[customer]]
name = "${XSS}"
meters = ["xss"]

[[customer]]
name = "gone"
meters = ["gone"]
`;
const COLUMNS = ["acme-inbound", "acme-outbound", "globex-inbound", "globex-outbound", "xss", "gone"];
const SPECS = [
  { name: "acme", meters: ["acme"] },
  { name: "globex", meters: ["globex"] },
  { name: XSS, meters: ["xss"] },
  { name: "gone", meters: ["gone"] },
];
const STEP = 300_000;
const DAY = 86_400_000;

/** A log stamp `YYYY/MM/DD-HH:MM:SS` of instant `t` in UTC. */
const stamp = (t: number) => {
  const iso = new Date(t).toISOString();
  return `${iso.slice(0, 10).replaceAll("-", "/")}-${iso.slice(11, 19)}`;
};

/**
 * A log of 5-minute samples (UTC stamps) over the last 75 days up to a minute
 * ago: a gap of two days, acme-inbound reset by the counter going down,
 * globex-outbound reset by a reset line, `gone` removed two days ago.
 */
function makeLog(rand: () => number, now: number): string {
  const end = now - 60_000;
  let t = end - 75 * DAY;
  t -= t % STEP;
  const scale = [4e7, 1e7, 2e7, 3e7, 1e5, 5e6];
  const c = COLUMNS.map(() => Math.floor(rand() * 1e9));
  const gapFrom = t + 30 * DAY;
  const gapTo = gapFrom + 2 * DAY;
  const resetAt = t + 40 * DAY;
  const lineResetAt = t + 50 * DAY;
  const goneAt = end - 2 * DAY;
  let text = `# netmon meters:\t${COLUMNS.join("\t")}\n`;
  let header = true;
  for (; t <= end; t += STEP) {
    if (t >= gapFrom && t < gapTo) continue;
    for (let i = 0; i < c.length; i++) c[i] = (c[i] as number) + Math.floor(rand() * (scale[i] as number));
    if (t === resetAt) c[0] = Math.floor(rand() * 1e6);
    if (t === lineResetAt) text += "# netmon reset:\tglobex-outbound\trules reloaded\n";
    if (t >= goneAt && header) {
      header = false;
      text += `# netmon meters:\t${COLUMNS.slice(0, 5).join("\t")}\n`;
    }
    text += `${stamp(t)}\t${(header ? c : c.slice(0, 5)).join("\t")}\n`;
  }
  return text;
}

/** `netmon summary --by cycle --csv --meter NAME` for each customer, computed in-process (see the TODO above). */
function summaryCsv(logPath: string): Map<string, string> {
  const zone = ianaZone("Europe/Berlin");
  const file = Deno.openSync(logPath);
  try {
    const engine = new UsageEngine(calendar("cycle", zone, 15), { p95: true });
    const rows = SPECS.map(() => [] as ReturnType<typeof rowsOf>);
    const keep = (buckets: ReturnType<UsageEngine["push"]>) => {
      for (const b of buckets) {
        const customers = customerColumns(
          SPECS.map((spec) => ({ ...spec, billing: { cycleDay: 15 } })),
          engine.columns.map((name) => ({ name, label: name })),
        );
        SPECS.forEach((s, i) =>
          rows[i]?.push(...rowsOf(b, { customers, customersOnly: true, only: new Set([s.name]) }))
        );
      }
    };
    for (
      const s of samplesOf(linesOfFile(file), logPath, (w, why) => {
        throw new Error(`${w}: ${why}`);
      }, ianaZone("UTC"))
    ) {
      keep(engine.push(s));
    }
    keep(engine.finish());
    return new Map(SPECS.map((s, i) => [s.name, [...csvChunks(rows[i] ?? [], zone)].join("")]));
  } finally {
    file.close();
  }
}

/** Runs graph.ts under `umask` (077 by default, so that modes must be set explicitly), TZ=UTC, with access to `dir` only. */
function graphHtml(dir: string, args: string[], umask = "077"): Promise<Result> {
  return run("/bin/sh", [
    "-c",
    `umask ${umask} && exec "$@"`,
    "sh",
    Deno.execPath(),
    "run",
    "-q",
    "--no-prompt",
    "-P=graph",
    `--allow-read=/etc/netmon,/var/lib/netmon,${dir}`,
    `--allow-write=/var/lib/netmon,${dir}`,
    GRAPH,
    ...args,
  ], {
    env: {
      PATH: "/usr/bin:/bin",
      HOME: dir,
      TZ: "UTC",
      NO_COLOR: "1",
      ...(Deno.env.get("DENO_DIR") ? { DENO_DIR: Deno.env.get("DENO_DIR") as string } : {}),
    },
  });
}

const mode = (path: string) => (Deno.statSync(path).mode as number) & 0o777;

interface CsvRow {
  start: string;
  end: string;
  name: string;
  kind: string;
  in_bytes: string;
  out_bytes: string;
  total_bytes: string;
  p95_in_bps: string;
  p95_out_bps: string;
  p95_bps: string;
  coverage: string;
  resets: string;
}

/**
 * The CSV's customer rows (names here have no comma or quote, so a plain
 * split is exact). A customer named as its column (`gone`) also has the
 * column's rows, as `--meter gone` selects both: the page shows the customer's.
 */
function parseCsv(text: string): CsvRow[] {
  const [head, ...lines] = text.trimEnd().split("\n");
  const keys = (head as string).split(",");
  return lines.map((l) => Object.fromEntries(l.split(",").map((v, i) => [keys[i], v])) as unknown as CsvRow)
    .filter((r) => r.kind === "customer");
}

/** The last day of a cycle whose exclusive end is `iso`: the day before. */
const dayBefore = (iso: string) => {
  const [y, m, d] = iso.slice(0, 10).split("-").map(Number) as [number, number, number];
  return new Date(Date.UTC(y, m - 1, d - 1)).toISOString().slice(0, 10);
};
const bytesOr = (s: string) => (s === "" ? DASH : formatBytes(BigInt(s)));

interface Table {
  rows: Record<string, string>[];
  imgs: number;
  text: string;
}
const TABLE = (selector: string) =>
  `(() => {
  const t = [...document.querySelectorAll(${JSON.stringify(selector)})].pop();
  const rows = t ? [...t.querySelectorAll("tbody tr")].map((tr) =>
    Object.fromEntries([...tr.querySelectorAll("td")].map((td) => [td.dataset.label, td.textContent.trim()]))) : [];
  const facts = Object.fromEntries([...document.querySelectorAll("dt")].map((dt) =>
    [dt.textContent.trim(), dt.nextElementSibling.textContent.trim()]));
  if (Object.keys(facts).length) rows.push(facts);
  const csv = document.querySelector("a[download]");
  if (csv) rows.push({ csv: csv.getAttribute("href") });
  return { rows, imgs: document.querySelectorAll("img, script, [onerror]").length, text: document.body.innerText };
})()`;

browserTest(
  "graph.ts --html: the pages show the summary's figures, in chromium, nothing leaves, names are text",
  async (b) => {
    await withTempDir(async (dir) => {
      const rand = seededRandom("page html");
      const now = Date.now();
      const log = `${dir}/netmon.log`;
      await Deno.writeTextFile(log, makeLog(rand, now));
      await Deno.writeTextFile(`${dir}/netmon.toml`, CONFIG);
      const www = `${dir}/www`;
      const r = await graphHtml(dir, ["-c", `${dir}/netmon.toml`, "--title", "gw1 <netmon>", "--html", www, log]);
      assertEquals([r.code, r.stderr], [0, ""]);
      assertEquals(mode(www), 0o755);
      const names = [...Deno.readDirSync(www)].map((e) => e.name).filter((n) => !n.startsWith(".netmon-pages")).sort();
      const stems = SPECS.map((s) => customerStem(s.name));
      assertEquals(names, ["index.html", ...stems.flatMap((s) => [`${s}.csv`, `${s}.html`])].sort());
      for (const n of names) assertEquals(mode(`${www}/${n}`), 0o644, n);
      assertEquals(mode(`${www}/.netmon-pages`), 0o600); // the list of the pages netmon wrote, for no web server
      // Nothing but the -o/--plot outputs: no data file in the working directory or beside the log.
      ok(!names.includes("netmon_graph.dat"));

      // The CSV beside each page is the summary's, byte for byte.
      const expected = summaryCsv(log);
      for (const s of SPECS) {
        assertEquals(Deno.readTextFileSync(`${www}/${customerStem(s.name)}.csv`), expected.get(s.name));
      }

      // The overview: this cycle so far per customer, as the CSV's current cycle row says.
      const overview = await visit(
        b,
        `file://${www}/index.html`,
        (page) => page.evaluate(TABLE("table")) as Promise<Table>,
      );
      assertEquals([overview.leaving, overview.errors, overview.dialogs, overview.phoneOverflow], [[], [], [], 0]);
      for (const shot of [overview.shots.desktop, overview.shots.phone]) {
        ok(distinctColours(shot) > 16, "overview not blank");
      }
      const seen = overview.inspected as Table;
      assertEquals(seen.imgs, 0);
      ok(seen.text.includes("gw1 <netmon>"));
      assertEquals(
        seen.rows.map((row) => row["Customer"]),
        SPECS.map((s) => s.name),
      );
      const current = (rows: CsvRow[]) => {
        const last = rows[rows.length - 1] as CsvRow;
        return Date.parse(last.end) > now ? last : undefined;
      };
      const acmeRows = parseCsv(expected.get("acme") as string);
      const cycle = current(acmeRows) as CsvRow;
      ok(cycle !== undefined, "the log reaches into the current cycle");
      SPECS.forEach((s, i) => {
        const row = seen.rows[i] as Record<string, string>;
        const c = current(parseCsv(expected.get(s.name) as string));
        const what = `overview: ${s.name}`;
        assertEquals(row["Cycle"], `${cycle.start.slice(0, 10)} ..${dayBefore(cycle.end)}`, what);
        if (c === undefined) {
          assertEquals(row["Total so far"], formatBytes(0n), what);
          return;
        }
        assertEquals(row["In"], bytesOr(c.in_bytes), what);
        assertEquals(row["Out"], bytesOr(c.out_bytes), what);
        assertEquals(row["Total so far"], formatBytes(BigInt(c.total_bytes)), what);
        ok(row["95th percentile"]?.startsWith(formatRate(Number(c.p95_bps))), `${what}: ${row["95th percentile"]}`);
        if (c.p95_in_bps !== "") ok(row["95th percentile"]?.includes(`in ${formatRate(Number(c.p95_in_bps))}`), what);
        if (c.p95_out_bps !== "") {
          ok(row["95th percentile"]?.includes(`out ${formatRate(Number(c.p95_out_bps))}`), what);
        }
        assertEquals(row["Coverage"], formatPercent(Number(c.coverage)), what);
        assertEquals(row["Resets"], c.resets, what);
      });
      // The projection is at least what was used so far; the quota bar where a quota is set.
      ok(seen.rows[0]?.["Quota"]?.includes("of 2.00 TiB"), seen.rows[0]?.["Quota"]);
      assertEquals(seen.rows[1]?.["Quota"], DASH);
      // Only the customer whose meter was removed two days ago is flagged as stale.
      ok(seen.rows[3]?.["Last sample"]?.includes("no sample for 2 days"), seen.rows[3]?.["Last sample"]);
      for (const i of [0, 1, 2]) {
        ok(!seen.rows[i]?.["Last sample"]?.includes("no sample"), seen.rows[i]?.["Last sample"]);
      }
      // The resets the log holds are in the cycles they happened in.
      const resets = (name: string) => parseCsv(expected.get(name) as string).reduce((n, r) => n + Number(r.resets), 0);
      assertEquals([resets("acme"), resets("globex")], [1, 1]);

      // Each customer's page: the facts of this cycle, the last cycles as the CSV has them, the CSV link.
      for (const s of SPECS) {
        const v = await visit(
          b,
          `file://${www}/${customerFile(s.name)}`,
          (page) => page.evaluate(TABLE("table")) as Promise<Table>,
        );
        assertEquals([v.leaving, v.errors, v.dialogs, v.phoneOverflow], [[], [], [], 0], s.name);
        for (const shot of [v.shots.desktop, v.shots.phone]) ok(distinctColours(shot) > 16, `${s.name}: not blank`);
        const got = v.inspected as Table;
        assertEquals(got.imgs, 0, s.name);
        ok(got.text.includes(s.name), `${s.name} shows as text`);
        const link = got.rows.pop() as Record<string, string>;
        const facts = got.rows.pop() as Record<string, string>;
        assertEquals(decodeURIComponent(link.csv as string), `${customerStem(s.name)}.csv`);
        const rows = parseCsv(expected.get(s.name) as string);
        const c = current(rows);
        assertEquals(facts["Total so far"], formatBytes(BigInt(c?.total_bytes ?? 0)), s.name);
        assertEquals(facts["Coverage"], formatPercent(Number(c?.coverage ?? 0)), s.name);
        // The last cycles, newest first.
        const want = rows.slice(-12).reverse();
        assertEquals(
          got.rows.map((row) => row["Cycle"]?.slice(0, 10)),
          want.map((w) => w.start.slice(0, 10)),
          `${s.name}: ${JSON.stringify(got.rows)}`,
        );
        // In and Out where some cycle has a direction; none (not a column of dashes) where none has.
        const split = want.some((w) => w.in_bytes !== "" || w.out_bytes !== "");
        want.forEach((w, i) => {
          const row = got.rows[i] as Record<string, string>;
          const what = `${s.name}: cycle ${w.start}`;
          ok(row["Cycle"]?.startsWith(`${w.start.slice(0, 10)} .. ${dayBefore(w.end)}`), `${what}: ${row["Cycle"]}`);
          assertEquals(row["In"], split ? bytesOr(w.in_bytes) : undefined, what);
          assertEquals(row["Out"], split ? bytesOr(w.out_bytes) : undefined, what);
          assertEquals(row["Total"], formatBytes(BigInt(w.total_bytes)), what);
          assertEquals(row["95th percentile"], w.p95_bps === "" ? DASH : formatRate(Number(w.p95_bps)), what);
          assertEquals(row["Coverage"], formatPercent(Number(w.coverage)), what);
          assertEquals(row["Resets"], w.resets, what);
        });
      }
    });
  },
  180_000,
);

browserTest("graph.ts --html on an empty or missing log: a page saying no data yet, exit 0", async (b) => {
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/netmon.toml`, CONFIG);
    await Deno.writeTextFile(`${dir}/empty.log`, "");
    for (const log of ["empty.log", "missing.log"]) {
      const www = `${dir}/www-${log}`;
      const r = await graphHtml(dir, ["-c", `${dir}/netmon.toml`, "--html", www, `${dir}/${log}`]);
      assertEquals([r.code, r.stderr], [0, ""], log);
      assertEquals([...Deno.readDirSync(www)].map((e) => e.name).sort(), [
        ".netmon-pages",
        ".netmon-pages.lock",
        "index.html",
      ], log);
      assertEquals([mode(www), mode(`${www}/index.html`)], [0o755, 0o644], log);
      // graph.ts's own title, once: not "netmon: network usage: usage".
      ok(Deno.readTextFileSync(`${www}/index.html`).includes("<title>netmon: network usage</title>"), log);
      const v = await visit(
        b,
        `file://${www}/index.html`,
        (page) => page.evaluate("document.body.innerText") as Promise<string>,
      );
      assertEquals([v.leaving, v.errors, v.dialogs], [[], [], []], log);
      ok((v.inspected as string).includes("No data yet."), log);
      ok((v.inspected as string).includes(XSS), `${log}: the configured customers are listed, as text`);
      ok(distinctColours(v.shots.desktop) > 8 && distinctColours(v.shots.phone) > 8, `${log}: not blank`);
    }
  });
});

/** What the overview's pictures are, as chromium loaded them. */
interface Pictures {
  src: string | null;
  alt: string;
  width: string | null;
  height: string | null;
  natural: [number, number];
  link: string | null;
}
const PICTURES = `[...document.images].map((i) => ({
  src: i.getAttribute("src"), alt: i.alt, width: i.getAttribute("width"), height: i.getAttribute("height"),
  natural: [i.naturalWidth, i.naturalHeight], link: i.closest("a") && i.closest("a").getAttribute("href"),
}))`;

browserTest(
  "graph.ts --html with --plot into DIR: the overview shows the picture, linked, sized, with alt text; else none",
  async (b) => {
    await withTempDir(async (dir) => {
      const log = `${dir}/netmon.log`;
      await Deno.writeTextFile(log, makeLog(seededRandom("page picture"), Date.now()));
      await Deno.writeTextFile(`${dir}/netmon.toml`, CONFIG);
      const www = `${dir}/www`;
      const args = ["-c", `${dir}/netmon.toml`, "--html", www, "-o", `${www}/usage.dat`, "--size", "800x360", log];
      const r = await graphHtml(dir, [...args, "--plot", `${www}/usage.png`, "--customers"]);
      assertEquals([r.code, r.stderr], [0, ""]);
      const picture = `file://${www}/usage.png`;
      const v = await visit(b, `file://${www}/index.html`, (page) => page.evaluate(PICTURES), [picture]);
      // Loaded (the page's Content-Security-Policy lets its own directory's picture in), and nothing else asked for.
      assertEquals([v.leaving, v.errors, v.dialogs, v.phoneOverflow], [[], [], [], 0]);
      ok(v.requests.includes(picture), v.requests.join(" "));
      assertEquals(v.inspected as Pictures[], [{
        src: "usage.png",
        alt: 'Graph "netmon: network usage": MiB per day, one line per customer',
        width: "800",
        height: "360",
        natural: [800, 360],
        link: "usage.png",
      }]);
      // The customers' pages have their own charts, not the picture.
      ok(!Deno.readTextFileSync(`${www}/acme.html`).includes("<img"));

      // No picture in the directory: none shown, never a broken one. --plot elsewhere, no --plot, gnuplot failing.
      const config = `${dir}/nognuplot.toml`;
      await Deno.writeTextFile(
        config,
        `${CONFIG.replace('source = "interface"\n', "")}[binaries]\ngnuplot = "${dir}/no/gnuplot"\n`,
      );
      for (
        const [name, extra, code] of [
          ["elsewhere", ["-c", `${dir}/netmon.toml`, "-o", `${dir}/usage.dat`, "--plot", `${dir}/usage.png`], 0],
          ["none", ["-c", `${dir}/netmon.toml`], 0],
          // gnuplot cannot be run (77: not in the permission set): the pages are written all the same.
          ["failing", ["-c", config, "-o", `${dir}/failing/usage.dat`, "--plot", `${dir}/failing/usage.png`], 77],
        ] as const
      ) {
        const other = `${dir}/${name}`;
        const o = await graphHtml(dir, ["--html", other, log, ...extra]);
        assertEquals(o.code, code, `${name}: ${o.stderr}`);
        const html = Deno.readTextFileSync(`${other}/index.html`);
        ok(html.includes("<table") && !html.includes("<img") && !html.includes("Usage over time"), name);
      }
    });
  },
);

Deno.test("graph.ts --html: a customer naming no column is a config error; a file in the way is refused", async () => {
  await withTempDir(async (dir) => {
    const log = `${dir}/netmon.log`;
    await Deno.writeTextFile(
      log,
      makeLog(seededRandom("page html errors"), Date.now()).split("\n").slice(0, 50).join("\n") + "\n",
    );
    await Deno.writeTextFile(
      `${dir}/bad.toml`,
      'source = "interface"\n[[customer]]\nname = "acme"\nmeters = ["nope"]\n',
    );
    const bad = await graphHtml(dir, ["-c", `${dir}/bad.toml`, "--html", `${dir}/www`, log]);
    assertEquals(bad.code, 78, bad.stderr);
    ok(/customer\[1\]\.meters\[1\]: "nope" matches no meter or column/.test(bad.stderr), bad.stderr);
    assertEquals(bad.stderr.trim().split("\n").length, 1, bad.stderr);
    await Deno.writeTextFile(`${dir}/file`, "x");
    await Deno.writeTextFile(`${dir}/ok.toml`, CONFIG);
    const inTheWay = await graphHtml(dir, ["-c", `${dir}/ok.toml`, "--html", `${dir}/file`, log]);
    assertEquals(inTheWay.code, 73, inTheWay.stderr);
    ok(inTheWay.stderr.includes("is not a directory"), inTheWay.stderr);
  });
});

Deno.test("page data: the days of this cycle and the last add up to their cycles, exactly", async () => {
  await withTempDir(async (dir) => {
    const now = Date.now();
    const log = `${dir}/netmon.log`;
    await Deno.writeTextFile(log, makeLog(seededRandom("page data days"), now));
    const file = Deno.openSync(log);
    try {
      const config = parseConfig(CONFIG, "netmon.toml");
      const { data } = buildPageData({
        samples: samplesOf(linesOfFile(file), log, (w, why) => {
          throw new Error(`${w}: ${why}`);
        }, ianaZone("UTC")),
        customers: config.customers,
        billing: config.billing,
        now,
        title: "t",
      });
      assertEquals(data.customers.map((c) => c.name), SPECS.map((s) => s.name));
      for (const c of data.customers.slice(0, 3)) {
        const sum = (rows: readonly { total: bigint }[]) => rows.reduce((n, r) => n + r.total, 0n);
        const [previous, current] = c.cycles.slice(-2) as [CycleRow, CycleRow];
        assertEquals(sum(c.daily.current), c.cycle.soFar.total, c.name);
        assertEquals(current.total, c.cycle.soFar.total, c.name);
        assertEquals(sum(c.daily.previous), previous.total, c.name);
        assertEquals(c.daily.current.at(-1)?.partial, true, "today is not over");
        ok(c.daily.previous.length >= 28, `${c.daily.previous.length} days in the previous cycle`);
        ok(c.cycle.projection !== undefined && c.cycle.projection >= c.cycle.soFar.total, c.name);
        assertEquals(c.interval, 300);
      }
    } finally {
      file.close();
    }
  });
});

Deno.test("page data: a meter added mid-cycle is projected from its column's first sample, as the summary's estimate", () => {
  // November 2025 (30 days, UTC): base at 1 B/s from the 1st; late, added on day 20 (the 21st), at 1 GiB an hour
  // from then: 120 GiB in 5 days, 5 days to go, 240 GiB (not 120 x 30/25 = 144 GiB: before it, late is unknown).
  const GiB = 1n << 30n;
  const { now } = LATE;
  const samples = lateMeterSamples();
  const billing = { cycleDay: 1, timeZone: "UTC" };
  const projections = (customers: CustomerSpec[]) =>
    buildPageData({ samples, customers, billing, now, title: "t" }).data.customers.map((c) => [
      c.name,
      c.cycle.soFar.total,
      c.cycle.projection,
    ]);
  // Each column its own customer (no [[customer]]), and customers of the config.
  assertEquals(projections([]), [["base", 25n * 86_400n, 30n * 86_400n], ["late", 120n * GiB, 240n * GiB]]);
  const spec = (name: string, meters: string[]): CustomerSpec => ({ name, meters, billing });
  assertEquals(projections([spec("newco", ["late"]), spec("both", ["base", "late"])]), [
    ["newco", 120n * GiB, 240n * GiB],
    // A customer that gains late (base there since the log began): each column from its own first sample, summed.
    ["both", 25n * 86_400n + 120n * GiB, 30n * 86_400n + 240n * GiB],
  ]);
});

Deno.test("page data: told which columns come back (a meter removed for good is not), the same figures and CSV", () => {
  // Hourly over October and November 2026 (UTC): gone is removed for good on 10 October; back is away from 30
  // October 18:00 to 3 November 06:00 (over the cycles' boundary), then counts on.
  const samples: Sample[] = [];
  for (let t = Date.UTC(2026, 9, 1), k = 0; t <= Date.UTC(2026, 10, 30); t += 3_600_000, k++) {
    const away = t > Date.UTC(2026, 9, 30, 18) && t < Date.UTC(2026, 10, 3, 6);
    const columns = [...(t <= Date.UTC(2026, 9, 10) ? ["gone"] : []), "stays", ...(away ? [] : ["back"])];
    samples.push({ epoch: t, columns, counters: columns.map((c) => (c === "back" ? 3 : 1) * k * 1000 + (k % 7)) });
  }
  const returning = returningOf(samples);
  assertEquals(returning, new Set(["back"]));
  const billing = { cycleDay: 1, timeZone: "UTC" };
  const spec = (name: string, meters: string[]): CustomerSpec => ({ name, meters, billing });
  for (const customers of [[], [spec("all", ["gone", "stays", "back"]), spec("back", ["back"])]]) {
    const build = (told: boolean) =>
      buildPageData({
        samples,
        customers,
        billing,
        now: Date.UTC(2026, 10, 30, 1),
        title: "t",
        returning: told ? returning : undefined,
      });
    const told = build(true);
    assertEquals(told, build(false));
    const cycles = told.data.customers.map((c) => [c.name, c.cycles.length]);
    assertEquals(cycles, customers.length ? [["all", 2], ["back", 2]] : [["gone", 1], ["stays", 2], ["back", 2]]);
  }
});

Deno.test("page data: a meter away since before the last cycle and back in this one: its days add up to its cycles", () => {
  // Hourly samples, 1 MB an hour a meter, 1 January to 10 March 2026 (UTC); x away from 20 January to 5 March: its
  // growth over that time is shared by time over the days it spans, February's included, as the cycles share it.
  const samples: Sample[] = [];
  for (let t = Date.UTC(2026, 0, 1), k = 0; t <= Date.UTC(2026, 2, 10); t += 3_600_000, k++) {
    const away = t > Date.UTC(2026, 0, 20) && t < Date.UTC(2026, 2, 5);
    const columns = away ? ["a"] : ["a", "x"];
    samples.push({ epoch: t, columns, counters: columns.map(() => k * 1_000_000) });
  }
  for (const returning of [returnsOf(samples), undefined]) {
    const { data } = buildPageData({
      samples,
      customers: [],
      billing: { cycleDay: 1, timeZone: "UTC" },
      now: Date.UTC(2026, 2, 10, 0, 30),
      title: "t",
      returning,
    });
    const x = data.customers.find((c) => c.name === "x")!;
    const sum = (rows: readonly { total: bigint }[]) => rows.reduce((n, r) => n + r.total, 0n);
    const [previous, current] = x.cycles.slice(-2) as [CycleRow, CycleRow];
    assertEquals([sum(x.daily.current), sum(x.daily.previous)], [current.total, previous.total]);
    assertEquals(previous.total, 672_000_000n, "February: 28 days of its time away");
  }
});

Deno.test("page data: a cycle over whose samples stop early is covered of its whole time; the one in progress so far", () => {
  // Hourly samples from 1 October 2026 to the 2nd at 02:00, then none (the machine died). Once October is over, 26
  // of its 744 hours are covered; while it is in progress, the time up to the last sample all is.
  const columns = ["a"];
  const samples: Sample[] = [];
  for (let t = Date.UTC(2026, 9, 1); t <= Date.UTC(2026, 9, 2, 2); t += 3_600_000) {
    samples.push({ epoch: t, columns, counters: [t / 1000] });
  }
  const billing = { cycleDay: 1, timeZone: "UTC" };
  const cycles = (now: number) =>
    buildPageData({ samples, customers: [], billing, now, title: "t" }).data.customers[0]!.cycles.map((r) => [
      r.partial,
      r.coverage,
    ]);
  assertEquals(cycles(Date.UTC(2026, 10, 30)), [[false, 26 / 744]]);
  assertEquals(cycles(Date.UTC(2026, 9, 2, 2, 30)), [[true, 1]]);
});

Deno.test("page, the original setup two minutes into a cycle: too early to project, the report's labels, no In and Out", () => {
  // The walkthrough's: 2.37 MiB in about two minutes was "Projected for the cycle 20.32 GiB" at "Coverage 0.0%".
  const config = parseConfig(Deno.readTextFileSync(new URL("../examples/original.toml", import.meta.url)), "o.toml");
  const start = Date.UTC(2026, 10, 1), columns = ["proxy", "non-network"];
  const samples = [
    { epoch: start + 60_000, columns, counters: [0n, 0n] },
    { epoch: start + 180_000, columns, counters: [2_485_125n, 4096n] },
  ];
  const { data } = buildPageData({
    samples,
    customers: [],
    columns: allColumns(config.meters),
    billing: { cycleDay: 1, timeZone: "UTC" },
    now: start + 180_000,
    title: "t",
  });
  assertEquals(data.customers.map((c) => [c.name, c.label, c.cycle.projection]), [
    ["proxy", "Proxied", undefined],
    ["non-network", "Off Network", undefined],
  ]);
  const index = overviewPage(data);
  for (const page of [index, customerPage(data, data.customers[0]!)]) {
    ok(page.includes("too early") && page.includes("less than a day of this cycle counted"), page);
    ok(!page.includes(formatBytes(53_677_457_437n)), "no figure carried from two minutes: 2.37 MiB x 21,599");
    ok(
      !/data-label="(In|Out)( so far)?"|<dt>(In|Out) so far/.test(page),
      "no column of dashes: no meter has a direction",
    );
  }
  ok(index.includes(">Proxied</a>") && index.includes(">Off Network</a>"), index);
});

Deno.test("graph.ts --html: a customer taken out of the config loses its page and CSV; nothing else is removed", async () => {
  await withTempDir(async (dir) => {
    const log = `${dir}/netmon.log`;
    await Deno.writeTextFile(log, makeLog(seededRandom("page removal"), Date.now()));
    const www = `${dir}/www`;
    const html = async (config: string, logPath = log) => {
      await Deno.writeTextFile(`${dir}/netmon.toml`, config);
      return await graphHtml(dir, ["-c", `${dir}/netmon.toml`, "--html", www, logPath]);
    };
    const files = async () => {
      const names: string[] = [];
      for await (const e of Deno.readDir(www)) names.push(e.isSymlink ? `${e.name}@` : e.name);
      return names.sort();
    };
    // The config without customer `name`'s block.
    const without = (name: string) =>
      CONFIG.split("[[customer]]\n").filter((b) => !b.startsWith(`name = "${name}"`)).join("[[customer]]\n");
    const first = await html(CONFIG);
    assertEquals(first.code, 0, first.stderr);
    const xss = customerStem(XSS);
    const all = [
      ".netmon-pages",
      ".netmon-pages.lock",
      "acme.csv",
      "acme.html",
      "globex.csv",
      "globex.html",
      "gone.csv",
    ]
      .concat(["gone.html"])
      .concat([`${xss}.csv`, `${xss}.html`, "index.html"]).sort();
    assertEquals(await files(), all);
    assertEquals(Deno.statSync(`${www}/.netmon-pages`).mode! & 0o777, 0o600);
    // The admin's own files, and one named like a page that netmon did not write, are never touched; a page's
    // temporary file that a killed run left is removed, another program's is not.
    await Deno.writeTextFile(`${www}/robots.txt`, "User-agent: *\n");
    await Deno.writeTextFile(`${www}/hand-made.html`, "<p>mine</p>");
    await Deno.writeTextFile(`${www}/.acme.html.0123456789ab.tmp`, "half a page");
    await Deno.writeTextFile(`${www}/.usage.png.0123456789ab.tmp`, "half a picture");
    const second = await html(without("gone"));
    assertEquals([second.code, second.stderr], [0, ""]);
    assertEquals(
      await files(),
      [...all.filter((n) => !n.startsWith("gone.")), ".usage.png.0123456789ab.tmp", "hand-made.html", "robots.txt"]
        .sort(),
    );
    ok(!(await Deno.readTextFile(`${www}/index.html`)).includes("gone.html"));
    // A link planted under an old page's name is not followed, nor removed: said, and left for the admin.
    assertEquals((await html(without(XSS))).code, 0);
    assertEquals((await html(CONFIG)).code, 0);
    await Deno.writeTextFile(`${dir}/precious`, "keep me");
    await Deno.remove(`${www}/globex.html`);
    await Deno.symlink(`${dir}/precious`, `${www}/globex.html`);
    const linked = await html(without("globex"));
    assertEquals(linked.code, 0, linked.stderr);
    ok(/globex\.html: not a regular file, left in place/.test(linked.stderr), linked.stderr);
    assertEquals(await Deno.readTextFile(`${dir}/precious`), "keep me");
    ok((await files()).includes("globex.html@"));
    ok(!(await files()).includes("globex.csv"));
    // Said once, then off the list: a page of the admin's own under that name later is never removed.
    const list = await Deno.readTextFile(`${www}/.netmon-pages`);
    ok(!list.includes("globex"), list);
    await Deno.remove(`${www}/globex.html`);
    await Deno.writeTextFile(`${www}/globex.html`, "<p>the admin's</p>");
    assertEquals((await html(without("globex"))).stderr, "");
    assertEquals(await Deno.readTextFile(`${www}/globex.html`), "<p>the admin's</p>");
    // A run without data (the log missing) keeps the pages of every customer still configured.
    const noData = await html(without("globex"), `${dir}/no-such.log`);
    assertEquals(noData.code, 0, noData.stderr);
    ok((await files()).includes("acme.html") && (await files()).includes("acme.csv"), String(await files()));
    // A list naming the overview (tampered with, restored from elsewhere) never removes it.
    await Deno.writeTextFile(`${www}/.netmon-pages`, `${list.split("\n")[0]}\nindex.html\n`);
    assertEquals((await html(without("globex"))).code, 0);
    ok((await files()).includes("index.html"));
    // A list netmon cannot trust (a link) removes nothing and is left as it is.
    await Deno.remove(`${www}/.netmon-pages`);
    await Deno.symlink(`${dir}/precious`, `${www}/.netmon-pages`);
    const untrusted = await html(without("acme"));
    assertEquals(untrusted.code, 0, untrusted.stderr);
    ok(/\.netmon-pages.*symbolic link.*; no old page was removed$/.test(untrusted.stderr.trim()), untrusted.stderr);
    ok((await files()).includes("acme.html"));
    assertEquals(await Deno.readTextFile(`${dir}/precious`), "keep me");
  });
});

Deno.test("graph.ts --html: where another user can write above the page directory, no old page is removed (said, with the fix)", async () => {
  await withTempDir(async (dir) => {
    const log = `${dir}/netmon.log`;
    await Deno.writeTextFile(log, makeLog(seededRandom("page dir trust"), Date.now()));
    const www = `${dir}/site/www`;
    const html = async (config: string) => {
      await Deno.writeTextFile(`${dir}/netmon.toml`, config);
      // umask 022: where another user can change the way to the pages, netmon never chmods them by name, so a umask
      // that narrows them fails the run (harden_test.ts "a umask that narrows a mode").
      return await graphHtml(dir, ["-c", `${dir}/netmon.toml`, "--html", www, log], "022");
    };
    const withoutGone = CONFIG.split("[[customer]]\n").filter((b) => !b.startsWith('name = "gone"')).join(
      "[[customer]]\n",
    );
    Deno.mkdirSync(`${dir}/site`, { mode: 0o755 });
    assertEquals((await html(CONFIG)).code, 0);
    const pages = () => [...Deno.readDirSync(www)].map((e) => e.name).filter((n) => n.startsWith("gone."));
    assertEquals(pages().sort(), ["gone.csv", "gone.html"]);
    // Anyone may write the directory above: they could put another directory in www's place between the read of
    // the list and a removal. The pages are written; the old ones stay, on the list, until the admin fixes it.
    Deno.chmodSync(`${dir}/site`, 0o777);
    const open = await html(withoutGone);
    assertEquals(open.code, 0, open.stderr);
    ok(
      open.stderr.includes(
        `graph: warning: ${dir}/site is writable by every user (mode 0777): another user could put another ` +
          `directory in place of, or plant links above the page directory ${www} (netmon removes no old page until ` +
          `this is fixed: chown root:root ${dir}/site && chmod go-w ${dir}/site)\n`,
      ),
      open.stderr,
    );
    assertEquals(pages().sort(), ["gone.csv", "gone.html"]);
    ok(Deno.readTextFileSync(`${www}/.netmon-pages`).includes("gone.html"));
    ok(!Deno.readTextFileSync(`${www}/index.html`).includes("gone.html"), "the overview is the new config's");
    // Fixed: the next run removes them, and says nothing.
    Deno.chmodSync(`${dir}/site`, 0o755);
    const fixed = await html(withoutGone);
    assertEquals([fixed.code, fixed.stderr], [0, ""]);
    assertEquals(pages(), []);
    // Named through a link another user owns (in a sticky directory, as /tmp is), the page directory is theirs to
    // point elsewhere, whatever the real directory's modes: the same.
    Deno.chmodSync(dir, 0o755);
    Deno.mkdirSync(`${dir}/sticky`, { mode: 0o1777 });
    Deno.chmodSync(`${dir}/sticky`, 0o1777);
    await run("setpriv", [
      "--reuid=nobody",
      "--regid=nogroup",
      "--clear-groups",
      "--",
      "ln",
      "-s",
      www,
      `${dir}/sticky/pages`,
    ]);
    const viaLink = async (config: string) => {
      await Deno.writeTextFile(`${dir}/netmon.toml`, config);
      // umask 022: through a link netmon never chmods by name, so a umask that narrows the pages fails the run.
      return await graphHtml(dir, ["-c", `${dir}/netmon.toml`, "--html", `${dir}/sticky/pages`, log], "022");
    };
    const first = await viaLink(CONFIG);
    assertEquals(first.code, 0, first.stderr);
    assertEquals(pages().sort(), ["gone.csv", "gone.html"]);
    const linked = await viaLink(withoutGone);
    assertEquals(linked.code, 0, linked.stderr);
    ok(
      linked.stderr.includes(
        `graph: warning: ${dir}/sticky/pages is a symbolic link, owned by uid 65534 (mode 0777): another user could ` +
          `put another directory in place of, or plant links in the page directory ${dir}/sticky/pages `,
      ),
      linked.stderr,
    );
    assertEquals(pages().sort(), ["gone.csv", "gone.html"]);
  });
});

Deno.test("graph.ts --html: runs at once queue on the page directory's lock (each trusts the list it reads)", async () => {
  await withTempDir(async (dir) => {
    const log = `${dir}/netmon.log`;
    await Deno.writeTextFile(log, makeLog(seededRandom("page lock"), Date.now()));
    await Deno.writeTextFile(`${dir}/netmon.toml`, CONFIG);
    const www = `${dir}/www`;
    const args = ["-c", `${dir}/netmon.toml`, "--html", www, log];
    assertEquals((await graphHtml(dir, args)).code, 0);
    // Another run holds the lock: this one waits for it, then does its work.
    const held = await Deno.open(`${www}/.netmon-pages.lock`, { read: true, write: true });
    await held.lock(true);
    const second = graphHtml(dir, args);
    let done = false;
    void second.then(() => done = true);
    await new Promise((r) => setTimeout(r, 3_000));
    const waited = !done;
    held.close(); // releases the lock
    const r = await second;
    ok(waited, "the second run did not wait for the lock");
    assertEquals([r.code, r.stderr], [0, ""]);
  });
});

Deno.test("page data: a customer named like its (unsplit) column has only its customer rows in its CSV, as every customer", () => {
  // The walkthrough's: charlie.csv held a `charlie,column` and a `charlie,customer` row per cycle, alpha.csv only
  // customer rows; a script summing charlie.csv billed charlie twice.
  const billing = { cycleDay: 15, timeZone: "Europe/Berlin" };
  const columns = ["alpha-inbound", "alpha-outbound", "charlie"];
  const start = Date.UTC(2026, 9, 20);
  const samples = Array.from({ length: 24 * 40 }, (_, i) => ({
    epoch: start + i * 3_600_000,
    columns,
    counters: [BigInt(i) * 1000n, BigInt(i) * 100n, BigInt(i) * 500n],
  }));
  const spec = (name: string): CustomerSpec => ({ name, meters: [name], billing });
  const { csv } = buildPageData({
    samples,
    customers: [spec("alpha"), spec("charlie")],
    billing,
    now: start + 40 * 86_400_000,
    title: "t",
  });
  for (const name of ["alpha", "charlie"]) {
    const file = csv.find((f) => f.name === `${name}.csv`);
    ok(file !== undefined, name);
    const rows = file.text.trim().split("\n").slice(1);
    assertEquals(rows.length, 2, file.text); // the cycle from Oct 15 and the one from Nov 15
    for (const r of rows) assertEquals(r.split(",").slice(2, 4), [name, "customer"], file.text);
  }
});

Deno.test("page: a quota written in GB is shown in GB, and a commit beside the 95th percentile", () => {
  // The walkthrough's: a "500 GB" contract read 465.66 GiB on the page.
  const billing = { cycleDay: 1, timeZone: "UTC" };
  const start = Date.UTC(2026, 10, 1), columns = ["acme"];
  const samples = Array.from({ length: 3 }, (_, i) => ({
    epoch: start + i * 86_400_000,
    columns,
    counters: [BigInt(i) * 100_000_000_000n],
  }));
  const config = parseConfig(
    '[billing]\ntimezone = "UTC"\n[[customer]]\nname = "acme"\nquota = "500 GB"\ncommit = "10 Mbit/s"\n',
    "netmon.toml",
  );
  const { data } = buildPageData({
    samples,
    customers: config.customers,
    billing,
    now: start + 2 * 86_400_000,
    title: "t",
  });
  for (const page of [overviewPage(data), customerPage(data, data.customers[0]!)]) {
    ok(page.includes("40.0% of 500.00 GB"), page);
    ok(!page.includes("465.66 GiB"), page);
    // 100 GB a day: 9.26 Mbit/s, 92.6% of the commit.
    ok(page.includes("9.26 Mbit/s; commit 10.00 Mbit/s (92.6%)"), page);
  }
});
