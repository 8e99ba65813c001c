/**
 * The Prometheus textfile's directory is trust-checked by real reports
 * (lib/host/dir_trust.ts TEXTFILE_DIR): one another user can write is a
 * warning on every run, the textfile written and the sample logged all the
 * same (exit 0); Debian's layout (a root directory under one node_exporter's
 * user owns) is quiet. The in-process cases are in dir_trust_test.ts.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  netmon,
  netmonSet,
  netnsTest,
  NFT_ONE_METER_CONFIG,
  nftOnly,
  withPair,
  withTempDir,
  writeConfig,
} from "./helpers.ts";

netnsTest(
  "textfile trust: a textfile directory others can write is warned of on every run; Debian's layout is not",
  () =>
    withPair((p) =>
      withTempDir(async (dir) => {
        // /srv-like: the textfile directory writable by every user.
        const open = `${dir}/open`;
        // Debian-like: /var/lib/prometheus (node_exporter's user's, 0755) / node-exporter (root's, 0755).
        const home = `${dir}/prometheus`;
        const debian = `${home}/node-exporter`;
        for (const d of [open, home, debian]) Deno.mkdirSync(d, { mode: 0o755 });
        Deno.chmodSync(open, 0o777);
        Deno.chownSync(home, 65534, 65534);
        const state = `${dir}/state`;
        const report = async (tf: string) => {
          const config = await writeConfig(
            dir,
            `${NFT_ONE_METER_CONFIG}[prometheus]\ntextfile = "${tf}/netmon.prom"\n`,
          );
          return await netmon(["report", "-c", config, "-s", state], {
            ns: p.a,
            permissions: netmonSet(state, { read: [dir, tf], write: [tf] }),
          });
        };
        assert.equal(
          (await netmon(["start", "-c", await writeConfig(dir, NFT_ONE_METER_CONFIG)], nftOnly(p.a, [dir]))).code,
          0,
        );

        for (let run = 1; run <= 2; run++) {
          const r = await report(open);
          assert.equal(r.code, 0, r.stderr);
          assert.equal(
            r.stderr,
            `netmon: warning: ${open} is writable by every user (mode 0777): another user could replace the textfile ` +
              `with forged figures, or make root write it elsewhere, in the Prometheus textfile directory ${open} ` +
              `(netmon writes it all the same, but fix it: chown root:root ${open} && chmod go-w ${open})\n`,
            `run ${run}`,
          );
          assert.match(Deno.readTextFileSync(`${open}/netmon.prom`), /^netmon_raw_bytes\{column="b"\} \d+$/m);
          assert.equal(
            Deno.readTextFileSync(`${state}/netmon.log`).split("\n").filter((l) => /^\d/.test(l)).length,
            run,
          );
        }

        const r = await report(debian);
        assert.deepEqual([r.code, r.stderr], [0, ""]);
        assert.match(Deno.readTextFileSync(`${debian}/netmon.prom`), /^netmon_raw_bytes\{column="b"\} \d+$/m);

        // Fixed: quiet.
        Deno.chmodSync(open, 0o755);
        const fixed = await report(open);
        assert.deepEqual([fixed.code, fixed.stderr], [0, ""]);
      })
    ),
);

Deno.test({
  name: "textfile trust: where another user owns a directory above the textfile's (Debian's layout), a umask that " +
    "narrows its mode is never mended by a chmod by name (they could swap in a link meanwhile): a warning with the fix",
  ignore: Deno.uid() !== 0,
  fn: () =>
    withTempDir(async (dir) => {
      await Deno.chmod(dir, 0o755);
      // Debian-like: /var/lib/prometheus (node_exporter's user's, 0755) / node-exporter (root's, 0755).
      const home = `${dir}/prometheus`;
      const debian = `${home}/node-exporter`;
      for (const d of [home, debian]) Deno.mkdirSync(d, { mode: 0o755 });
      Deno.chownSync(home, 65534, 65534);
      const state = `${dir}/state`;
      const config = await writeConfig(
        dir,
        `source = "interface"\ninterfaces = ["lo"]\n[prometheus]\ntextfile = "${debian}/netmon.prom"\n`,
      );
      const trace = `${dir}/chmods`;
      // umask 077: the textfile would be made 0600, which node_exporter (the prometheus user) cannot read.
      const r = await netmon(["report", "-c", config, "-s", state], {
        dirs: [dir],
        wrap: ["strace", "-f", "-qq", "-o", trace, "-e", "trace=/chmod", "sh", "-c", 'umask 077; exec "$@"', "sh"],
      });
      const byName = Deno.readTextFileSync(trace).split("\n").filter((l) => l.includes(debian));
      assert.deepEqual(byName, [], "no chmod by name in the textfile's directory");
      assert.equal(r.code, 74, r.stderr);
      assert.match(
        r.stderr,
        new RegExp(
          `^netmon: warning: Prometheus textfile ${debian}/netmon.prom not written: .*created with mode 0600, not ` +
            `0644, .*${home} is owned by uid 65534.*: run netmon with umask 022 \\(or grant it --allow-sys`,
          "m",
        ),
      );
      assert.equal(
        Deno.readTextFileSync(`${state}/netmon.log`).split("\n").filter((l) => /^\d/.test(l)).length,
        1,
        "the sample is logged",
      );
      assert.deepEqual([...Deno.readDirSync(debian)], [], "no textfile, no temporary file left");
    }),
});
