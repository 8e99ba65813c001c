// lib/units.ts
var UNITS = [
  "K",
  "M",
  "G",
  "T",
  "P"
];
var SMALL = 1n << 46n;
function fixed2(numerator, shift) {
  const scaled = numerator * 100n;
  const divisor = 1n << shift;
  let q = scaled / divisor;
  const r = scaled % divisor;
  const twice = r * 2n;
  if (twice > divisor || twice === divisor && q % 2n === 1n) q += 1n;
  const whole = q / 100n;
  const cents = String(q % 100n).padStart(2, "0");
  return `${whole}.${cents}`;
}
function fixed2Number(n, shift) {
  const scaled = n * 100;
  const divisor = 2 ** shift;
  let q = Math.floor(scaled / divisor);
  const twice = (scaled - q * divisor) * 2;
  if (twice > divisor || twice === divisor && q % 2 === 1) q += 1;
  const cents = q % 100;
  return `${(q - cents) / 100}.${cents < 10 ? "0" : ""}${cents}`;
}
function fixed2Small(n) {
  let shift = 10;
  let unit = 0;
  while (n >= 1024 * 2 ** shift) {
    shift += 10;
    unit++;
  }
  return fixed2Number(n, shift) + UNITS[unit];
}
function humanReadable(bytes) {
  if (bytes < 1024n) return String(bytes);
  if (bytes < SMALL) return fixed2Small(Number(bytes));
  return humanReadableExact(bytes);
}
function humanReadableExact(bytes) {
  if (bytes < 1024n) return String(bytes);
  const asDouble = BigInt(Number(bytes));
  let shift = 0n;
  for (const unit of UNITS) {
    shift += 10n;
    if (asDouble < 1024n << shift || unit === "P") return fixed2(asDouble, shift) + unit;
  }
  throw new Error("unreachable");
}

// lib/report.ts
var RESET_MARK = "== RESET DETECTED! ==";
function line(title, timestamp, meters, values) {
  const parts = meters.map((m) => `${m.label}: ${humanReadable(values(m.name))}`);
  return `${title} - Timestamp: ${timestamp} ${parts.join(" ")}
`;
}
function formatReport(meters, previous, sample, usage) {
  const lastStamp = previous?.sample.timestamp ?? sample.timestamp;
  const byMeter = new Map(usage.meters.map((u) => [
    u.meter,
    u
  ]));
  let text = line("Last Total", lastStamp, meters, (m) => previous?.sample.counters.get(m) ?? 0n) + line("New Total", sample.timestamp, meters, (m) => sample.counters.get(m) ?? 0n) + line("New Usage", sample.timestamp, meters, (m) => byMeter.get(m)?.usage ?? 0n);
  if (usage.resets.length > 0) {
    const labels = meters.filter((m) => usage.resets.includes(m.name)).map((m) => m.label);
    text += `${RESET_MARK} counters went down for: ${labels.join(", ")}; totals now count from ${usage.totalStart}
`;
  }
  return text;
}

export {
  humanReadable,
  RESET_MARK,
  formatReport
};
