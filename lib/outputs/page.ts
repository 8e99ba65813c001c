/**
 * The usage pages as HTML: an overview of every customer's billing cycle so
 * far (and graph.ts's picture, when it is beside the pages), and a page per
 * customer with daily charts, the last cycles and a link to the CSV. Pure:
 * the figures come in as {@linkcode PageData}, the pages go out as strings.
 * Self-contained (inline style and SVG, no script, nothing loaded from
 * anywhere but the page's own directory, and from there only the picture: a
 * Content-Security-Policy says so to the browser), readable on a phone,
 * every name escaped.
 *
 * @module
 */

import { keyId } from "./message_id.ts";
import { escapeHtml as h, formatBytes, formatPercent, formatRate } from "./html_text.ts";
import { bytesShareText, commitText, quotaBytes } from "../usage/units.ts";
import { usageChart } from "./svg_chart.ts";
import { TOO_EARLY, TOO_EARLY_WHY } from "../usage/projection.ts";

/** Bytes in, out and in all. A meter not split by direction has only a total. */
export interface Traffic {
  in?: bigint;
  out?: bigint;
  total: bigint;
}

/** One day's usage. */
export interface DailyRow extends Traffic {
  /** The day, `YYYY-MM-DD` (in the billing time zone). */
  date: string;
  /** The day is not over, or its samples do not cover it. */
  partial: boolean;
}

/** One billing cycle's usage. */
export interface CycleRow extends Traffic {
  /** First day, `YYYY-MM-DD`. */
  start: string;
  /** Last day, `YYYY-MM-DD` (inclusive, as a cycle is labelled `2026-10-15 .. 2026-11-14`). */
  end: string;
  /** The 95th-percentile rate in bit/s (the billable one: the larger of in and out); absent where not computed. */
  p95?: number;
  /** Fraction of the cycle the samples cover, 0 to 1. */
  coverage: number;
  /** Counter resets seen in the cycle. */
  resets: number;
  /** The cycle is not over. */
  partial: boolean;
}

/** One customer, as the summary engine reports it. */
export interface CustomerData {
  /** The customer's name (any text: it is escaped). */
  name: string;
  /** What the report calls it, where that is not its name: a column's label in the config ("Proxied"). */
  label?: string;
  /** The current cycle. */
  cycle: {
    /** First day, `YYYY-MM-DD`. */
    start: string;
    /** Last day, `YYYY-MM-DD` (inclusive). */
    end: string;
    /** Usage so far. */
    soFar: Traffic;
    /** Linear estimate for the whole cycle (total bytes); absent before a day of the cycle is counted (too early). */
    projection?: bigint;
    /** 95th-percentile rates so far in bit/s: each direction and the billable (larger) one. */
    p95?: { in?: number; out?: number; billable: number };
    /** Fraction of the cycle so far that the samples cover, 0 to 1. */
    coverage: number;
    /** Counter resets so far. */
    resets: number;
  };
  /** Bytes allowed per cycle, where a quota is set. */
  quota?: bigint;
  /** What counts against the quota: in, out, or the total (the default). */
  quotaCount?: "in" | "out" | "total";
  /** The quota was written in powers of 1000 (`"500 GB"`): shown in them. */
  quotaDecimal?: true;
  /** The committed 95th percentile, bit/s, where a commit is set: shown beside the percentile. */
  commit?: number;
  /** The last sample's time, ISO 8601 with offset; absent when the log has none for this customer. */
  lastSample?: string;
  /** The usual interval between samples, in seconds. */
  interval: number;
  /** Daily usage: the current cycle (so far) and the previous one. */
  daily: { current: readonly DailyRow[]; previous: readonly DailyRow[] };
  /** The last 12 cycles (or fewer), oldest first, the current one last. */
  cycles: readonly CycleRow[];
  /** The CSV file beside the page (a file name, no directory). */
  csv: string;
}

/** Everything the pages show. */
export interface PageData {
  /** Heading of the overview, e.g. the host's name (escaped). */
  title: string;
  /** When the pages were made, ISO 8601 with offset: the age of each last sample is judged against it. */
  generated: string;
  /** The customers, in the order to show them. */
  customers: readonly CustomerData[];
  /** Use a log scale in the daily charts. */
  log?: boolean;
  /** graph.ts's picture in the pages' directory, shown on the overview; absent when it is not there. */
  picture?: PagePicture;
}

/** A picture beside the pages (graph.ts `--plot` into the `--html` directory). */
export interface PagePicture {
  /** Its file name in the pages' directory (no directory: the link is relative). */
  file: string;
  /** Its size in pixels. */
  width: number;
  height: number;
  /** What it shows, for a reader who cannot see it. */
  alt: string;
}

/** A page to write: its file name in the output directory and its content. */
export interface PageFile {
  name: string;
  html: string;
}

/**
 * The file stem for a customer's page and CSV: letters, digits and `-` kept,
 * every other byte of its UTF-8 as `_XX`, so that distinct names give
 * distinct files and no name can climb out of the directory. A stem longer
 * than 200 characters (a long name in another script: `_XX` for each of its
 * bytes) is cut to 184 and ends in `_` and a 64-bit hash of the whole name,
 * 201 characters, so that it fits a file name (255 bytes) and no stem kept
 * whole can equal it.
 *
 * @example
 * ```ts
 * customerStem("acme"); // "acme"
 * customerStem("a/b c"); // "a_2Fb_20c"
 * ```
 */
export function customerStem(name: string): string {
  const bytes = new TextEncoder().encode(name);
  let out = "";
  for (const byte of bytes) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9-]/.test(c) ? c : `_${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  if (out.length > MAX_STEM) return `${out.slice(0, MAX_STEM - 16)}_${keyId(name)}`;
  // "index" is the overview's; an empty name still needs a file.
  return out === "index" || out === "" ? `_${out}` : out;
}

/** The longest stem kept whole. */
const MAX_STEM = 200;

/** The file name of a customer's page. */
export function customerFile(name: string): string {
  return `${customerStem(name)}.html`;
}

const STYLE = `
:root{color-scheme:light;--fg:#1a1a1a;--muted:#555;--line:#d0d0d0;--warn:#8a3b00;--warnbg:#fff3e0;--bar:#0072B2;--over:#D55E00}
*{box-sizing:border-box}
body{margin:0 auto;max-width:78rem;padding:1rem;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:#fff}
h1{font-size:1.5rem;margin:.2rem 0 .4rem}h2{font-size:1.15rem;margin:1.6rem 0 .4rem}
p{margin:.3rem 0}.muted{color:var(--muted)}
a{color:#005a8c}
table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}
th,td{padding:.35rem .5rem;border-bottom:1px solid var(--line);text-align:right;vertical-align:top}
th:first-child,td:first-child{text-align:left}
th{font-weight:600;background:#f6f6f6}
.name{overflow-wrap:anywhere}
.warn{color:var(--warn);background:var(--warnbg);padding:.1rem .3rem;border-radius:.2rem;font-weight:600}
.quota{display:inline-block;width:6rem;height:.7rem;border:1px solid #777;vertical-align:middle;margin-right:.3rem;background:#fff}
.quota span{display:block;height:100%;background:var(--bar)}.quota.over span{background:var(--over)}
.chart{display:block;width:100%;max-width:56rem;height:auto;margin:.4rem 0}
.graph{display:block;max-width:100%;height:auto;margin:.4rem 0}
td.nowrap{white-space:nowrap}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem;margin:.4rem 0}dt{color:var(--muted)}dd{margin:0}
details{margin:.6rem 0}summary{cursor:pointer}
footer{margin-top:2rem;font-size:.85rem;color:var(--muted)}
@media (max-width:700px){
 body{padding:.6rem;font-size:14px}
 table.cards thead{display:none}
 table.cards,table.cards tbody,table.cards tr,table.cards td{display:block;width:100%}
 table.cards tr{border:1px solid var(--line);border-radius:.3rem;margin:0 0 .6rem;padding:.2rem .4rem}
 table.cards td{border:0;text-align:right;padding:.15rem 0;display:flex;justify-content:space-between;gap:1rem}
 table.cards td::before{content:attr(data-label);color:var(--muted);text-align:left}
 table.cards td:first-child{font-weight:600;font-size:1.05rem}
 table.cards td:first-child::before{content:none}
}
`.trim();

/** The page around `body`. */
function shell(title: string, body: string): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:">
<meta name="robots" content="noindex">
<link rel="icon" href="data:,">
<title>${h(title)}</title>
<style>${STYLE}</style>
</head>
<body>
${body}
</body>
</html>
`;
}

/** `2026-10-20T14:05:00+02:00` as `2026-10-20 14:05 (+02:00)`. */
function when(iso: string): string {
  const m = /^(\d{4}-\d\d-\d\d)T(\d\d:\d\d)(?::\d\d(?:\.\d+)?)?(Z|[+-]\d\d:?\d\d)?$/.exec(iso);
  if (!m) return iso;
  return `${m[1]} ${m[2]}${m[3] ? ` (${m[3] === "Z" ? "UTC" : m[3]})` : ""}`;
}

/** Why a customer's figures may be stale, or undefined when they are fresh. */
function staleness(c: CustomerData, generated: string): string | undefined {
  if (c.lastSample === undefined) return "no data yet";
  const age = (Date.parse(generated) - Date.parse(c.lastSample)) / 1000;
  if (!(age > 3 * c.interval)) return undefined;
  return `no sample for ${ageText(age)} (more than three intervals)`;
}

/** `seconds` in the largest unit that leaves at least 2 of it (1 for minutes), rounded down: `40 seconds`, `1 minute`. */
function ageText(seconds: number): string {
  const [n, unit] = seconds >= 48 * 3600
    ? [seconds / 86400, "day"]
    : seconds >= 2 * 3600
    ? [seconds / 3600, "hour"]
    : seconds >= 60
    ? [seconds / 60, "minute"]
    : [seconds, "second"];
  const whole = Math.floor(n);
  return `${whole} ${unit}${whole === 1 ? "" : "s"}`;
}

const dash = "\u2013";
const bytesOr = (b: bigint | undefined) => (b === undefined ? dash : formatBytes(b));

/** The projection, or why there is none yet where it would be. */
const projectionText = (p: bigint | undefined) =>
  p === undefined ? `${TOO_EARLY} <span class="muted">(${h(TOO_EARLY_WHY)})</span>` : formatBytes(p);

/**
 * The customer's name as the report says it, `inner` (a link) around it: its label, with the name the summary
 * prints (and `--meter` takes) beside it.
 */
const nameText = (c: CustomerData, inner: (text: string) => string = (t) => t) =>
  c.label === undefined || c.label === c.name
    ? inner(h(c.name))
    : `${inner(h(c.label))} <span class="muted">${h(c.name)}</span>`;

/** Whether any of `rows` is split by direction: without, In and Out columns would only hold dashes. */
const directed = (rows: readonly Traffic[]) => rows.some((r) => r.in !== undefined || r.out !== undefined);

function quotaCell(c: CustomerData): string {
  if (c.quota === undefined || c.quota <= 0n) return dash;
  const count = c.quotaCount ?? "total";
  // A column with no direction counts in each (lib/usage/cycle_tally.ts `counted`): in is all but out.
  const { total, in: inBytes, out } = c.cycle.soFar;
  const soFar = count === "in" ? total - (out ?? 0n) : count === "out" ? total - (inBytes ?? 0n) : total;
  const used = Number(soFar) / Number(c.quota);
  const over = soFar > c.quota;
  const width = Math.min(used, 1) * 100;
  return `<span class="quota${over ? " over" : ""}" aria-hidden="true"><span style="width:${
    width.toFixed(1)
  }%"></span></span>${bytesShareText(soFar, c.quota)} of ${quotaBytes(c.quota, c.quotaDecimal)}${
    count === "total" ? "" : ` (${count})`
  }${over ? ' <span class="warn">over quota</span>' : ""}`;
}

function p95Text(p: CustomerData["cycle"]["p95"], commit: number | undefined): string {
  const beside = commit === undefined ? "" : `; ${h(commitText(commit, p?.billable))}`;
  if (p === undefined) return dash + beside;
  const parts = [];
  if (p.in !== undefined) parts.push(`in ${formatRate(p.in)}`);
  if (p.out !== undefined) parts.push(`out ${formatRate(p.out)}`);
  return (parts.length > 0 ? `${formatRate(p.billable)} (${parts.join(", ")})` : formatRate(p.billable)) + beside;
}

const OVERVIEW_COLUMNS = [
  "Customer",
  "Cycle",
  "In",
  "Out",
  "Total so far",
  "Projected for the cycle",
  "Quota",
  "95th percentile",
  "Coverage",
  "Resets",
  "Last sample",
];

function td(label: string, content: string, cls = ""): string {
  return `<td data-label="${h(label)}"${cls ? ` class="${cls}"` : ""}>${content}</td>`;
}

function noData(data: PageData): string {
  const names = data.customers.map((c) => `<li class="name">${h(c.name)}</li>`).join("");
  return shell(
    data.title,
    `<h1>${h(data.title)}</h1>
<p><strong>No data yet.</strong> netmon has not recorded any sample in its log: the first figures appear after the
next two runs of <code>netmon report</code> from cron.</p>
${names ? `<p>Customers configured:</p><ul>${names}</ul>` : ""}
<footer>Made ${h(when(data.generated))} by netmon.</footer>`,
  );
}

/** The overview page (`index.html`): one row per customer for the current cycle. */
export function overviewPage(data: PageData): string {
  if (data.customers.every((c) => c.lastSample === undefined)) return noData(data);
  // In and Out only where some customer is split by direction.
  const split = directed(data.customers.map((c) => c.cycle.soFar));
  const shown = (i: number) => split || (i !== 2 && i !== 3);
  const rows = data.customers.map((c) => {
    const stale = staleness(c, data.generated);
    const s = c.cycle.soFar;
    const cells = [
      td(OVERVIEW_COLUMNS[0] as string, nameText(c, (t) => `<a href="${customerFile(c.name)}">${t}</a>`), "name"),
      td(OVERVIEW_COLUMNS[1] as string, `${h(c.cycle.start)} ..<br>${h(c.cycle.end)}`, "nowrap"),
      td(OVERVIEW_COLUMNS[2] as string, bytesOr(s.in)),
      td(OVERVIEW_COLUMNS[3] as string, bytesOr(s.out)),
      td(OVERVIEW_COLUMNS[4] as string, formatBytes(s.total)),
      td(OVERVIEW_COLUMNS[5] as string, projectionText(c.cycle.projection)),
      td(OVERVIEW_COLUMNS[6] as string, quotaCell(c)),
      td(OVERVIEW_COLUMNS[7] as string, p95Text(c.cycle.p95, c.commit)),
      td(OVERVIEW_COLUMNS[8] as string, formatPercent(c.cycle.coverage)),
      td(OVERVIEW_COLUMNS[9] as string, String(c.cycle.resets)),
      td(
        OVERVIEW_COLUMNS[10] as string,
        (c.lastSample ? h(when(c.lastSample)) : "") + (stale ? ` <span class="warn">${h(stale)}</span>` : ""),
      ),
    ];
    return `<tr>${cells.filter((_, i) => shown(i)).join("")}</tr>`;
  });
  const head = OVERVIEW_COLUMNS.filter((_, i) => shown(i)).map((c) => `<th scope="col">${h(c)}</th>`).join("");
  return shell(
    data.title,
    `<h1>${h(data.title)}</h1>
<p class="muted">This billing cycle so far, per customer. Bytes in IEC units (1 GiB = 1024<sup>3</sup> bytes); rates in
bit/s. Coverage is the share of the cycle so far that the samples cover.</p>
<table class="cards">
<thead><tr>${head}</tr></thead>
<tbody>
${rows.join("\n")}
</tbody>
</table>
${data.picture === undefined ? "" : pictureSection(data.picture)}<footer>Made ${
      h(when(data.generated))
    } by netmon.</footer>`,
  );
}

/** The picture beside the pages, linked to itself at full size. */
function pictureSection(p: PagePicture): string {
  const src = h(encodeURIComponent(p.file));
  return `<h2>Usage over time</h2>
<p><a href="${src}"><img class="graph" src="${src}" width="${p.width}" height="${p.height}" alt="${h(p.alt)}"></a></p>
`;
}

function dailyChart(c: CustomerData, rows: readonly DailyRow[], id: string, title: string, log: boolean): string {
  const split = rows.some((r) => r.in !== undefined || r.out !== undefined);
  const series = split
    ? [
      { name: "in", values: rows.map((r) => r.in ?? null) },
      { name: "out", values: rows.map((r) => r.out ?? null) },
    ]
    : [{ name: "total", values: rows.map((r) => r.total) }];
  return usageChart({
    id,
    title: `${c.label ?? c.name}: ${title}`,
    periods: rows.map((r) => ({ label: r.date.slice(5), partial: r.partial })),
    series,
    log,
    partialNote: "hatched, *: incomplete day",
  });
}

/** The In and Out cells of a row, and their headings: none where no row of the table has a direction. */
function inOut(split: boolean, r?: Traffic): string {
  if (!split) return "";
  return r === undefined
    ? `<th scope="col">In</th><th scope="col">Out</th>`
    : `${td("In", bytesOr(r.in))}${td("Out", bytesOr(r.out))}`;
}

function dailyTable(rows: readonly DailyRow[]): string {
  const split = directed(rows);
  const body = rows.map((r) =>
    `<tr>${td("Day", h(r.date) + (r.partial ? " (incomplete)" : ""))}${inOut(split, r)}${
      td("Total", formatBytes(r.total))
    }</tr>`
  ).join("\n");
  return `<table class="cards"><thead><tr><th scope="col">Day</th>${inOut(split)}` +
    `<th scope="col">Total</th></tr></thead><tbody>\n${body}\n</tbody></table>`;
}

function cyclesTable(rows: readonly CycleRow[]): string {
  const split = directed(rows);
  const body = [...rows].reverse().map((r) =>
    `<tr>${td("Cycle", `${h(r.start)} .. ${h(r.end)}${r.partial ? " (so far)" : ""}`)}${inOut(split, r)}${
      td("Total", formatBytes(r.total))
    }${td("95th percentile", r.p95 === undefined ? dash : formatRate(r.p95))}${
      td("Coverage", formatPercent(r.coverage))
    }${td("Resets", String(r.resets))}</tr>`
  ).join("\n");
  return `<table class="cards"><thead><tr><th scope="col">Cycle</th>${inOut(split)}` +
    `<th scope="col">Total</th><th scope="col">95th percentile</th><th scope="col">Coverage</th>` +
    `<th scope="col">Resets</th></tr></thead><tbody>\n${body}\n</tbody></table>`;
}

/** A customer's page: the cycle so far, daily charts of this cycle and the last, the last cycles, the CSV link. */
export function customerPage(data: PageData, c: CustomerData): string {
  const stale = staleness(c, data.generated);
  const s = c.cycle.soFar;
  const facts: [string, string][] = [
    ["Cycle", `${h(c.cycle.start)} .. ${h(c.cycle.end)}`],
    ...(directed([s]) ? [["In so far", bytesOr(s.in)], ["Out so far", bytesOr(s.out)]] as [string, string][] : []),
    ["Total so far", formatBytes(s.total)],
    ["Projected for the cycle", projectionText(c.cycle.projection)],
    ["Quota", quotaCell(c)],
    ["95th percentile", p95Text(c.cycle.p95, c.commit)],
    ["Coverage", formatPercent(c.cycle.coverage)],
    ["Resets", String(c.cycle.resets)],
    ["Last sample", c.lastSample ? h(when(c.lastSample)) : "none yet"],
  ];
  const log = data.log === true;
  const stem = customerStem(c.name);
  const section = (title: string, rows: readonly DailyRow[], id: string) =>
    rows.length === 0 ? `<h2>${title}</h2><p>No days yet.</p>` : `<h2>${title}</h2>
${dailyChart(c, rows, id, title.toLowerCase(), log)}
<details><summary>${title}: the figures</summary>
${dailyTable(rows)}
</details>`;
  return shell(
    `${c.label ?? c.name}: usage`,
    `<p><a href="index.html">&larr; All customers</a></p>
<h1 class="name">${nameText(c)}</h1>
${stale ? `<p class="warn">${h(stale)}</p>` : ""}
<dl>
${facts.map(([k, v]) => `<dt>${k}</dt><dd>${v}</dd>`).join("\n")}
</dl>
<p><a href="${h(encodeURIComponent(c.csv))}" download>Download the figures as CSV (${h(c.csv)})</a></p>
${section("Daily usage this cycle", c.daily.current, `c-${stem.replace(/[^A-Za-z0-9-]/g, "-")}-current`)}
${section("Daily usage in the previous cycle", c.daily.previous, `c-${stem.replace(/[^A-Za-z0-9-]/g, "-")}-previous`)}
<h2>The last cycles</h2>
${c.cycles.length === 0 ? "<p>No cycles yet.</p>" : cyclesTable(c.cycles)}
<footer>Made ${h(when(data.generated))} by netmon.</footer>`,
  );
}

/** Every page to write: `index.html` first, then one per customer (none when there is no data yet). */
export function pageFiles(data: PageData): PageFile[] {
  const files = [{ name: "index.html", html: overviewPage(data) }];
  if (data.customers.every((c) => c.lastSample === undefined)) return files;
  for (const c of data.customers) files.push({ name: customerFile(c.name), html: customerPage(data, c) });
  return files;
}
