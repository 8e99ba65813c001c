import { configOfDocument, parseDocument } from "./lib/config/config.ts";
const text = Deno.readTextFileSync(Deno.args[0]!);
const mode = Deno.args[1];
const json = JSON.stringify(parseDocument(text, "m"));
const walk = (v: unknown): void => {
  if (Array.isArray(v)) v.forEach(walk);
  else if (typeof v === "object" && v !== null) { Object.setPrototypeOf(v, null); for (const k in v) walk((v as Record<string, unknown>)[k]); }
};
const t0 = performance.now();
const doc = JSON.parse(json);
if (mode === "null") walk(doc);
if (mode === "walk") { const w2 = (v: unknown): void => { if (Array.isArray(v)) v.forEach(w2); else if (typeof v === "object" && v !== null) for (const k in v) w2((v as Record<string, unknown>)[k]); }; w2(doc); }
const t1 = performance.now();
configOfDocument(doc, "m");
const t2 = performance.now();
console.log(mode, "json+walk", (t1 - t0).toFixed(1), "validate", (t2 - t1).toFixed(1));
