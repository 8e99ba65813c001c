// lib/meters.ts
var HOOKS = [
  "INPUT",
  "OUTPUT",
  "FORWARD"
];
var DIRECTION_SUFFIX = {
  in: "-inbound",
  out: "-outbound"
};
var DIRECTION_LABEL = {
  in: " in",
  out: " out"
};
var DIRECTION_HOOKS = {
  in: [
    "INPUT",
    "FORWARD"
  ],
  out: [
    "OUTPUT",
    "FORWARD"
  ]
};
function meterHooks(m, direction) {
  if (m.hooks.length > 0) return m.hooks;
  if (!direction) return m.directions ? m.directions.flatMap((d) => meterHooks(m, d)) : [
    "INPUT"
  ];
  if (m.address) return DIRECTION_HOOKS[direction];
  return [
    direction === "in" ? "INPUT" : "OUTPUT"
  ];
}
function isPlain(m) {
  return !m.directions && m.families.length === 1 && !m.split.family;
}
function variants(m) {
  if (isPlain(m)) {
    return [
      {
        column: m.name,
        label: m.label,
        family: m.families[0]
      }
    ];
  }
  const out = [];
  const dirs = m.directions ?? [
    void 0
  ];
  for (const d of dirs) {
    for (const f of m.families) {
      let column = m.name;
      let label = m.label;
      if (d && m.split.direction) {
        column += DIRECTION_SUFFIX[d];
        label += DIRECTION_LABEL[d];
      }
      if (m.split.family) {
        column += `-v${f}`;
        label += ` IPv${f}`;
      }
      out.push(d ? {
        column,
        label,
        family: f,
        direction: d
      } : {
        column,
        label,
        family: f
      });
    }
  }
  return out;
}
function meterColumns(m) {
  if (!m.directions && !m.split.family) return [
    {
      name: m.name,
      label: m.label
    }
  ];
  const seen = /* @__PURE__ */ new Set();
  const cols = [];
  for (const v of variants(m)) {
    if (seen.has(v.column)) continue;
    seen.add(v.column);
    cols.push({
      name: v.column,
      label: v.label
    });
  }
  return cols;
}
function allColumns(meters) {
  return meters.flatMap(meterColumns);
}
function ofFamily(list, f) {
  if (!list) return void 0;
  const cidrs = f === 4 ? list.v4 : list.v6;
  if (cidrs.length === 0) return void 0;
  return {
    negated: list.negated,
    cidrs
  };
}
function meterRules(m, oneAddressPerRule) {
  if (isPlain(m) && m.hooks.length <= 1 && !m.address) {
    const family = m.families[0];
    const from = ofFamily(m.from, family), to = ofFamily(m.to, family);
    if ((!from || from.cidrs.length === 1) && (!to || to.cidrs.length === 1)) {
      const r = {
        column: m.name,
        meter: m.name,
        hook: m.hooks[0] ?? "INPUT",
        family
      };
      if (from) r.from = from;
      if (to) r.to = to;
      if (m.in && r.hook !== "OUTPUT") r.in = m.in;
      if (m.out && r.hook !== "INPUT") r.out = m.out;
      return [
        r
      ];
    }
  }
  const rules = [];
  for (const v of variants(m)) {
    const from = ofFamily(v.direction === "out" ? m.address : m.from, v.family);
    const to = ofFamily(v.direction === "in" ? m.address : m.to, v.family);
    const hooks = meterHooks(m, v.direction);
    const split = (x) => x && oneAddressPerRule && !x.negated ? x.cidrs.map((c) => ({
      negated: false,
      cidrs: [
        c
      ]
    })) : [
      x
    ];
    for (const hook of hooks) {
      if (hook === "OUTPUT" && m.in && !m.in.negated || hook === "INPUT" && m.out && !m.out.negated) continue;
      for (const f of split(from)) {
        for (const t of split(to)) {
          const r = {
            column: v.column,
            meter: m.name,
            hook,
            family: v.family
          };
          if (v.direction) r.direction = v.direction;
          if (f) r.from = f;
          if (t) r.to = t;
          if (m.in && hook !== "OUTPUT") r.in = m.in;
          if (m.out && hook !== "INPUT") r.out = m.out;
          rules.push(r);
        }
      }
    }
  }
  return rules;
}

export {
  HOOKS,
  meterHooks,
  allColumns,
  meterRules
};
