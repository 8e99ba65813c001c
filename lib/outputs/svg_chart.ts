/**
 * Usage per period as an SVG bar chart drawn by netmon (no gnuplot needed):
 * grouped bars per series, the x axis exactly the periods given, incomplete
 * periods hatched and said so in the legend, the Okabe-Ito colour-blind-safe
 * palette with patterns once the series outnumber its colours, an optional
 * log scale, and a title and description for screen readers. All text is
 * escaped. Pure: data in, a string out.
 *
 * @module
 */

import { escapeHtml, formatBytes } from "./html_text.ts";

/**
 * Okabe & Ito's colour-blind-safe palette, ordered so that the first colours
 * are the most distinct from each other and from white.
 */
export const PALETTE: readonly string[] = [
  "#0072B2", // blue
  "#E69F00", // orange
  "#009E73", // bluish green
  "#CC79A7", // reddish purple
  "#56B4E9", // sky blue
  "#D55E00", // vermillion
  "#000000", // black
  "#F0E442", // yellow (last: weakest against white)
];

/** One series: a value per period. */
export interface ChartSeries {
  /** Legend name (any text: it is escaped). */
  name: string;
  /** Bytes per period, one per entry of {@linkcode UsageChart.periods}; null where unknown. */
  values: readonly (bigint | number | null)[];
}

/** A period on the x axis. */
export interface ChartPeriod {
  /** Its label, e.g. `2026-10-15`. */
  label: string;
  /** True when the period is not over (or not fully sampled): drawn hatched. */
  partial?: boolean;
}

/** What to draw. */
export interface UsageChart {
  /** The chart's title (for screen readers and tooltips; the page shows its own heading). */
  title: string;
  /** A description for screen readers; by default one is written from the data. */
  description?: string;
  /** The periods, in order: the x axis runs from the first to the last, no further. */
  periods: readonly ChartPeriod[];
  /** The series, drawn side by side in each period. */
  series: readonly ChartSeries[];
  /** Log scale on the y axis (periods of zero then have no bar). */
  log?: boolean;
  /** What the legend says a hatched bar is. */
  partialNote?: string;
  /** Prefix for the ids inside the SVG, unique within the page (letters, digits, `-`). */
  id: string;
  /** Size of the drawing in SVG units (it scales to the width it is given). */
  width?: number;
  height?: number;
}

const FONT = 12;
const CHAR = 6.6; // average glyph width at FONT, for laying out the legend
const LEFT = 70;
const RIGHT = 10;
const BOTTOM = 34;
const fmt = (n: number) => (Math.round(n * 10) / 10).toString();
const short = (bytes: number) => formatBytes(bytes).replace(/\.00 /, " ");

/** The fill of series `k`: a palette colour, then patterns of it once the colours run out. */
function fill(id: string, k: number): string {
  return k < PALETTE.length ? PALETTE[k] as string : `url(#${id}-s${k})`;
}

/** Pattern definitions for series past the palette, and the hatch for partial periods. */
function defs(id: string, series: number): string {
  const out = [
    `<pattern id="${id}-hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">` +
    `<rect width="6" height="6" fill="#fff" fill-opacity="0.55"/><line x1="0" y1="0" x2="0" y2="6" stroke="#222" stroke-width="2"/></pattern>`,
  ];
  for (let k = PALETTE.length; k < series; k++) {
    const colour = PALETTE[k % PALETTE.length] as string;
    const tier = Math.floor(k / PALETTE.length) % 3;
    const mark = tier === 1
      ? `<rect width="5" height="5" fill="${colour}"/>` // checks
      : tier === 2
      ? `<circle cx="3" cy="3" r="2" fill="${colour}"/>` // dots
      : `<line x1="0" y1="3" x2="6" y2="3" stroke="${colour}" stroke-width="3"/>`; // stripes
    out.push(
      `<pattern id="${id}-s${k}" width="6" height="6" patternUnits="userSpaceOnUse">` +
        `<rect width="6" height="6" fill="#fff"/>${mark}</pattern>`,
    );
  }
  return `<defs>${out.join("")}</defs>`;
}

/** A step of 1, 2, 2.5 or 5 times a power of ten, about `raw`. */
function niceStep(raw: number): number {
  const e = 10 ** Math.floor(Math.log10(raw));
  const m = raw / e;
  return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 2.5 ? 2.5 : m <= 5 ? 5 : 10) * e;
}

interface Scale {
  /** Height above the axis, 0 to 1, of a value (NaN where it has no bar). */
  at(v: number): number;
  ticks: { value: number; label: string }[];
}

function linearScale(max: number): Scale {
  let unit = 1;
  while (max / unit >= 1024 && unit < 1024 ** 6) unit *= 1024;
  const unitName = formatBytes(unit).replace(/^1\.00 |^1 /, "");
  const step = niceStep(Math.max(max / unit, 1) / 5);
  const top = Math.max(Math.ceil(max / unit / step), 1) * step;
  const ticks = [];
  for (let i = 0; i * step <= top + step / 1e6; i++) {
    const v = Math.round(i * step * 1000) / 1000;
    ticks.push({ value: v * unit, label: i === 0 ? "0" : `${v} ${unitName}` });
  }
  return { at: (v) => v / (top * unit), ticks };
}

function logScale(minPositive: number, max: number): Scale {
  const lo = Math.floor(Math.log2(minPositive));
  let hi = Math.ceil(Math.log2(max));
  if (hi <= lo) hi = lo + 1;
  const step = [1, 2, 5, 10, 20].find((s) => (hi - lo) / s <= 6) ?? 20;
  const ticks = [];
  for (let b = Math.ceil(lo / step) * step; b <= hi; b += step) ticks.push({ value: 2 ** b, label: short(2 ** b) });
  return { at: (v) => (v > 0 ? (Math.log2(v) - lo) / (hi - lo) : NaN), ticks };
}

/** The legend's items laid out in rows within `width`; returns the markup and its height. */
function legend(chart: UsageChart, width: number, anyPartial: boolean): { svg: string; height: number } {
  const items = chart.series.map((s, k) => ({ text: s.name, swatch: fill(chart.id, k), hatch: false }));
  if (anyPartial) {
    items.push({
      text: chart.partialNote ?? "hatched, *: incomplete (not over or not fully sampled)",
      swatch: "#999",
      hatch: true,
    });
  }
  const parts: string[] = [];
  let x = LEFT;
  let y = 4;
  for (const item of items) {
    const w = 14 + 6 + item.text.length * CHAR + 18;
    if (x + w > width - RIGHT && x > LEFT) {
      x = LEFT;
      y += FONT + 8;
    }
    parts.push(
      `<rect x="${fmt(x)}" y="${y}" width="14" height="14" fill="${item.swatch}" stroke="#333" stroke-width="0.5"/>`,
    );
    if (item.hatch) parts.push(`<rect x="${fmt(x)}" y="${y}" width="14" height="14" fill="url(#${chart.id}-hatch)"/>`);
    parts.push(`<text x="${fmt(x + 20)}" y="${y + 11}">${escapeHtml(item.text)}</text>`);
    x += w;
  }
  return { svg: parts.join(""), height: y + FONT + 10 };
}

/** A sentence or two saying what the chart shows, for screen readers. */
function describe(chart: UsageChart, values: number[][]): string {
  const n = chart.periods.length;
  if (n === 0) return "No periods to show.";
  const first = chart.periods[0]?.label;
  const last = chart.periods[n - 1]?.label;
  const parts = [`Bars per period from ${first} to ${last}, ${n} period${n === 1 ? "" : "s"}`];
  parts[0] += chart.log ? ", log scale." : ".";
  chart.series.forEach((s, k) => {
    const vs = values[k] as number[];
    let best = -1;
    vs.forEach((v, i) => {
      if (!Number.isNaN(v) && (best < 0 || v > (vs[best] as number))) best = i;
    });
    const total = vs.reduce((a, v) => a + (Number.isNaN(v) ? 0 : v), 0);
    parts.push(
      best < 0
        ? `${s.name}: no data.`
        : `${s.name}: ${formatBytes(total)} in all, most on ${chart.periods[best]?.label} (${
          formatBytes(vs[best] as number)
        }).`,
    );
  });
  const partial = chart.periods.filter((p) => p.partial).map((p) => p.label);
  if (partial.length > 0) parts.push(`Incomplete: ${partial.join(", ")}.`);
  return parts.join(" ");
}

/**
 * The chart as an `<svg>` element, ready to go inline in an HTML page.
 *
 * @example
 * ```ts
 * const svg = usageChart({
 *   id: "acme-current",
 *   title: "acme: daily usage this cycle",
 *   periods: [{ label: "2026-10-15" }, { label: "2026-10-16", partial: true }],
 *   series: [{ name: "in", values: [5n << 30n, 1n << 30n] }, { name: "out", values: [1n << 30n, 0n] }],
 * });
 * ```
 */
export function usageChart(chart: UsageChart): string {
  if (!/^[A-Za-z][A-Za-z0-9-]*$/.test(chart.id)) {
    throw new RangeError(`Chart id ${JSON.stringify(chart.id)} is not a plain id`);
  }
  const n = chart.periods.length;
  chart.series.forEach((s) => {
    if (s.values.length !== n) {
      throw new RangeError(`Series ${JSON.stringify(s.name)} has ${s.values.length} values for ${n} periods`);
    }
  });
  const width = chart.width ?? 600;
  const height = chart.height ?? 280;
  const values = chart.series.map((s) => s.values.map((v) => (v === null ? NaN : Number(v))));
  const all = values.flat().filter((v) => !Number.isNaN(v));
  const max = Math.max(0, ...all);
  const minPositive = Math.min(...all.filter((v) => v > 0));
  const scale = chart.log && Number.isFinite(minPositive) ? logScale(minPositive, max) : linearScale(max);
  const anyPartial = chart.periods.some((p) => p.partial);
  const key = legend(chart, width, anyPartial);
  const top = key.height + 6;
  const plotW = width - LEFT - RIGHT;
  const plotH = Math.max(height - top - BOTTOM, 40);
  const bottom = top + plotH;
  const description = chart.description ?? describe(chart, values);

  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 ${width} ${height}" width="100%" ` +
      `role="img" aria-labelledby="${chart.id}-title ${chart.id}-desc" font-family="sans-serif" font-size="${FONT}">`,
    `<title id="${chart.id}-title">${escapeHtml(chart.title)}</title>`,
    `<desc id="${chart.id}-desc">${escapeHtml(description)}</desc>`,
    defs(chart.id, chart.series.length),
    key.svg,
  );
  // Grid and y axis labels.
  for (const t of scale.ticks) {
    const y = bottom - scale.at(t.value) * plotH;
    out.push(
      `<line x1="${LEFT}" y1="${fmt(y)}" x2="${width - RIGHT}" y2="${fmt(y)}" stroke="#ddd"/>` +
        `<text x="${LEFT - 6}" y="${fmt(y + 4)}" text-anchor="end">${escapeHtml(t.label)}</text>`,
    );
  }
  if (n === 0) {
    out.push(`<text x="${fmt(LEFT + plotW / 2)}" y="${fmt(top + plotH / 2)}" text-anchor="middle">no data yet</text>`);
  }
  // Bars: each period is a band of equal width; the axis is exactly the bands.
  const band = n > 0 ? plotW / n : plotW;
  const group = band * (chart.series.length > 1 ? 0.86 : 0.7);
  const bar = group / Math.max(chart.series.length, 1);
  const labelEvery = Math.max(1, Math.ceil(n / Math.max(1, Math.floor(plotW / 74))));
  chart.periods.forEach((p, i) => {
    const x0 = LEFT + i * band + (band - group) / 2;
    if (p.partial) {
      out.push(
        `<rect x="${fmt(LEFT + i * band)}" y="${top}" width="${fmt(band)}" height="${plotH}" fill="#f2f2f2"/>`,
      );
    }
    chart.series.forEach((s, k) => {
      const v = values[k]?.[i] as number;
      const tip = `${escapeHtml(p.label)} ${escapeHtml(s.name)}: ${
        Number.isNaN(v) ? "no data" : formatBytes(s.values[i] as bigint | number)
      }${p.partial ? " (incomplete)" : ""}`;
      const h = Number.isNaN(v) ? NaN : Math.max(scale.at(v), 0) * plotH;
      if (Number.isNaN(h)) return;
      const x = fmt(x0 + k * bar);
      const y = fmt(bottom - h);
      const attrs = `x="${x}" y="${y}" width="${fmt(bar)}" height="${fmt(h)}"`;
      if (p.partial) {
        out.push(
          `<g><title>${tip}</title><rect ${attrs} fill="${fill(chart.id, k)}" fill-opacity="0.45"/>` +
            `<rect ${attrs} fill="url(#${chart.id}-hatch)" stroke="#222" stroke-dasharray="3 2"/></g>`,
        );
      } else out.push(`<rect ${attrs} fill="${fill(chart.id, k)}"><title>${tip}</title></rect>`);
    });
    if (i % labelEvery === 0) {
      out.push(
        `<text x="${fmt(LEFT + (i + 0.5) * band)}" y="${bottom + 16}" text-anchor="middle">${escapeHtml(p.label)}${
          p.partial ? "*" : ""
        }</text>`,
      );
    }
  });
  out.push(
    `<line x1="${LEFT}" y1="${bottom}" x2="${width - RIGHT}" y2="${bottom}" stroke="#333"/>`,
    `<line x1="${LEFT}" y1="${top}" x2="${LEFT}" y2="${bottom}" stroke="#333"/>`,
    "</svg>",
  );
  return out.join("\n");
}
