/**
 * The shape of the code: no module imports itself through others (a cycle
 * makes the load order decide what a reader sees), and nothing generated is
 * kept in git.
 *
 * @module
 */

import { deepEqual as assertEquals, ok } from "node:assert/strict";

const ROOT = new URL("..", import.meta.url).pathname;

/** Relative .ts imports of a module (static and dynamic), as paths from the root. */
function importsOf(path: string): string[] {
  const text = Deno.readTextFileSync(`${ROOT}${path}`);
  const dir = path.slice(0, path.lastIndexOf("/") + 1);
  const found: string[] = [];
  for (const m of text.matchAll(/(?:from\s*|import\s*\(\s*)"(\.\.?\/[^"]+\.ts)"/g)) {
    const parts = (dir + (m[1] as string)).split("/");
    const out: string[] = [];
    for (const p of parts) {
      if (p === "..") out.pop();
      else if (p !== "." && p !== "") out.push(p);
    }
    found.push(out.join("/"));
  }
  return found;
}

function modules(dir: string): string[] {
  const found: string[] = [];
  for (const e of Deno.readDirSync(`${ROOT}${dir}`)) {
    if (e.isDirectory) found.push(...modules(`${dir}/${e.name}`));
    else if (e.name.endsWith(".ts")) found.push(`${dir}/${e.name}`);
  }
  return found;
}

/** The first import cycle among `roots` and what they import, as a path, or undefined. */
function findCycle(roots: string[]): string[] | undefined {
  const state = new Map<string, "open" | "done">();
  const stack: string[] = [];
  const visit = (m: string): string[] | undefined => {
    if (state.get(m) === "done") return undefined;
    if (state.get(m) === "open") return [...stack.slice(stack.indexOf(m)), m];
    state.set(m, "open");
    stack.push(m);
    for (const next of importsOf(m)) {
      const cycle = visit(next);
      if (cycle) return cycle;
    }
    stack.pop();
    state.set(m, "done");
    return undefined;
  };
  for (const r of roots) {
    const cycle = visit(r);
    if (cycle) return cycle;
  }
  return undefined;
}

Deno.test("the cycle finder finds a cycle it is given", () => {
  const dir = Deno.makeTempDirSync({ dir: ROOT, prefix: ".layout_test." });
  const rel = dir.slice(ROOT.length);
  try {
    Deno.writeTextFileSync(`${dir}/a.ts`, 'import { b } from "./b.ts";\nexport const a = b;\n');
    Deno.writeTextFileSync(`${dir}/b.ts`, 'export const b = 1;\nexport const c = () => import("./a.ts");\n');
    assertEquals(findCycle([`${rel}/a.ts`]), [`${rel}/a.ts`, `${rel}/b.ts`, `${rel}/a.ts`]);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("no import cycles in netmon.ts, graph.ts and lib/", () => {
  const roots = ["netmon.ts", "graph.ts", ...modules("lib")];
  assertEquals(findCycle(roots), undefined);
  ok(roots.length > 20);
});

Deno.test("git holds no generated code: no bundle, no home-made TOML reader", async () => {
  const out = await new Deno.Command("git", { args: ["ls-files"], cwd: ROOT, stdout: "piped", stderr: "null" })
    .output();
  if (!out.success) return; // not a git checkout (an exported tree): nothing to check
  const files = new TextDecoder().decode(out.stdout).split("\n");
  ok(files.includes("netmon.ts"), "ls-files lists the sources");
  assertEquals(files.filter((f) => /^bundle\/|^dist\/|^lib\/toml\.ts$|\.js$/.test(f)), []);
});
