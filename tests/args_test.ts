import { deepEqual as assertEquals, throws } from "node:assert/strict";
import { type OptionSpec, parseCommandArgs } from "../lib/cli/args.ts";

const SPECS: OptionSpec[] = [
  { name: "config", short: "c", type: "string" },
  { name: "dry-run", short: "n", type: "boolean" },
  { name: "help", short: "h", type: "boolean" },
  { name: "group", type: "string", multiple: true },
];

Deno.test("long, short, attached and grouped options; -- ends options", () => {
  assertEquals(parseCommandArgs(["start", "--config", "a.toml", "-n"], SPECS), {
    values: { config: "a.toml", "dry-run": true },
    positionals: ["start"],
  });
  assertEquals(parseCommandArgs(["--config=b.toml", "-nh", "x"], SPECS).values, {
    config: "b.toml",
    "dry-run": true,
    help: true,
  });
  assertEquals(parseCommandArgs(["-cc.toml"], SPECS).values, { config: "c.toml" });
  assertEquals(parseCommandArgs(["-nc", "d.toml"], SPECS).values, { "dry-run": true, config: "d.toml" });
  assertEquals(parseCommandArgs(["--", "-n", "--x"], SPECS).positionals, ["-n", "--x"]);
  assertEquals(parseCommandArgs(["--group", "a=x", "--group=b=y"], SPECS).values, { group: ["a=x", "b=y"] });
  assertEquals(parseCommandArgs(["-c", "-"], SPECS).values, { config: "-" });
});

Deno.test("mistakes are usage errors naming the option", () => {
  for (
    const [args, message] of [
      [["--bogus"], "unknown option --bogus"],
      [["-x"], "unknown option -x"],
      [["--config"], "option --config needs a value"],
      [["-c"], "option --config needs a value"],
      [["-c", "--help"], "option --config needs a value"],
      [["--help=yes"], "option --help takes no value"],
    ] as const
  ) {
    throws(
      () => parseCommandArgs(args, SPECS),
      (e: unknown) => (e as Error).message === message && (e as { exitCode: number }).exitCode === 64,
    );
  }
});
