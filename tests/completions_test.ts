/**
 * `netmon completions bash|zsh`, loaded into the real shells: bash's
 * completion function called as bash calls it, zsh's completion system
 * driven through a pseudo-terminal (zpty) with a real TAB.
 *
 * @module
 */

import { deepEqual as assertEquals, ok } from "node:assert/strict";
import { netmon, run, withTempDir } from "./helpers.ts";

async function script(shell: string, dir: string): Promise<string> {
  const r = await netmon(["completions", shell], { dirs: [dir], env: { NETMON_CONFIG: "" } });
  assertEquals([r.code, r.stderr], [0, ""]);
  const path = `${dir}/${shell === "zsh" ? "_netmon" : "netmon.bash"}`;
  await Deno.writeTextFile(path, r.stdout);
  return path;
}

/** What bash offers for the words typed so far (the last one being completed). */
async function bashOffers(path: string, words: string[]): Promise<string[]> {
  const r = await run("bash", [
    "--norc",
    "-c",
    'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _netmon; printf "%s\\n" "${COMPREPLY[@]}"',
    "bash",
    path,
    ...words,
  ]);
  assertEquals(r.stderr, "", words.join(" "));
  return r.stdout.split("\n").filter((l) => l !== "").sort();
}

const COMMANDS = [
  "check",
  "clear",
  "completions",
  "doctor",
  "flush",
  "help",
  "import",
  "initialise",
  "initiate",
  "pf-conf",
  "report",
  "start",
  "status",
  "stop",
];

Deno.test("bash completion: commands, each command's options, option values, arguments", () =>
  withTempDir(async (dir) => {
    const path = await script("bash", dir);
    await Deno.writeTextFile(`${dir}/alpha.toml`, "");
    await Deno.writeTextFile(`${dir}/beta.log`, "");
    await Deno.mkdir(`${dir}/state`);
    const cases: [string[], string[]][] = [
      [["netmon", ""], COMMANDS],
      [["netmon", "st"], ["start", "status", "stop"]],
      [["netmon", "doctor", "--"], ["--config", "--help", "--json", "--state-dir", "--version"]],
      [["netmon", "START", "--d"], ["--dry-run"]],
      [["netmon", "-c", `${dir}/alpha.toml`, "sto"], ["stop"]],
      [["netmon", "--"], ["--config", "--help", "--mail-test", "--no-mail", "--state-dir", "--version"]],
      [["netmon", "completions", ""], ["bash", "zsh"]],
      [["netmon", "help", "pf"], ["pf-conf"]],
      [["netmon", "--config", `${dir}/a`], [`${dir}/alpha.toml`]],
      [["netmon", "-s", `${dir}/s`], [`${dir}/state`]],
      [["netmon", "import", `${dir}/b`], [`${dir}/beta.log`]],
      [["netmon", "import", "x.log", "y"], []],
      [["netmon", "status", "--dry"], []],
    ];
    for (const [words, want] of cases) assertEquals(await bashOffers(path, words), want, words.join(" "));
    const registered = await run("bash", ["--norc", "-c", 'source "$1"; complete -p netmon', "bash", path]);
    assertEquals(registered.stdout, "complete -F _netmon netmon\n");
  }));

/**
 * What zsh's completion system offers after typing `line` and TAB, in an
 * interactive zsh on a pseudo-terminal with the completion function on
 * $fpath and compinit run. Every word passed to compadd is recorded.
 */
async function zshOffers(fpathDir: string, line: string): Promise<string[]> {
  const out = `${fpathDir}/offers.txt`;
  await Deno.writeTextFile(out, "");
  const driver = `
zmodload zsh/zpty
zpty z zsh -f -i
zpty -w z "PROMPT=''; fpath=(${fpathDir} \\$fpath); autoload -U compinit; compinit -u -D; cd ${fpathDir}"
zpty -w z 'compadd () { local -a __hits; builtin compadd -O __hits "$@"; print -rl -- $__hits >> ${out}; builtin compadd "$@"; }'
zpty -w z "${line}"$'\\t'
zpty -w z $'\\C-u print -r DONE >> ${out}\\n'
for i in {1..100}; do grep -q '^DONE$' ${out} && break; sleep 0.05; done
zpty -d z
`;
  const r = await run("zsh", ["-f", "-c", driver], { env: { PATH: "/usr/bin:/bin", TERM: "dumb", HOME: fpathDir } });
  assertEquals(r.code, 0, r.stderr);
  const lines = (await Deno.readTextFile(out)).split("\n").filter((l) => l !== "");
  ok(lines.includes("DONE"), `zsh finished the completion: ${lines.join(",")}`);
  return [...new Set(lines.filter((l) => l !== "DONE"))].sort();
}

Deno.test("zsh completion: the real completion system offers commands, options, values and files", () =>
  withTempDir(async (dir) => {
    await script("zsh", dir);
    await Deno.writeTextFile(`${dir}/beta.log`, "");
    assertEquals(await zshOffers(dir, "netmon st"), ["start", "status", "stop"]);
    assertEquals(await zshOffers(dir, "netmon completions "), ["bash", "zsh"]);
    const doctor = await zshOffers(dir, "netmon doctor --");
    ok(doctor.includes("--json") && doctor.includes("--config"), doctor.join(" "));
    ok(!doctor.includes("--dry-run"), doctor.join(" "));
    const start = await zshOffers(dir, "netmon initiate --");
    ok(start.includes("--dry-run") && !start.includes("--json"), start.join(" "));
    ok((await zshOffers(dir, "netmon import be")).includes("beta.log"));
  }));
