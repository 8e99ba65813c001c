import { deepEqual as assertEquals, throws } from "node:assert/strict";
import { parseIpLinkJson } from "../lib/sources/interface.ts";

Deno.test("ip -json -statistics link from iproute2 6.1: names, loopback, 64-bit counters", () => {
  const text = Deno.readTextFileSync(
    new URL("./fixtures/netmon-iproute2-6.1-ip-json-statistics-link.json", import.meta.url),
  );
  const links = parseIpLinkJson(text);
  assertEquals(links.map((l) => [l.name, l.loopback]), [["lo", true], ["cv1", false]]);
  // 1000 datagrams of 1200 bytes arrived before the capture: 1242 bytes each on the wire.
  assertEquals(links[1]!.rx.packets >= 1000n, true);
  assertEquals(links[1]!.rx.bytes >= 1000n * 1242n, true);
});

Deno.test("counters above 2^53 stay exact; 32-bit-only kernels' stats are read", () => {
  const big = "18446744073709551615";
  const links = parseIpLinkJson(
    `[{"ifname":"eth0","flags":["UP"],"stats64":{"rx":{"bytes":${big},"packets":9007199254740993},"tx":{"bytes":0,"packets":0}}},` +
      `{"ifname":"old0","link_type":"ether","stats":{"rx":{"bytes":5,"packets":1},"tx":{"bytes":6,"packets":1}}}]`,
  );
  assertEquals(links[0]!.rx.bytes, 18446744073709551615n);
  assertEquals(links[0]!.rx.packets, 9007199254740993n);
  assertEquals(links[1]!.tx.bytes, 6n);
});

Deno.test("broken ip output is one clear error", () => {
  throws(() => parseIpLinkJson('Object "link" is unknown'), /not JSON/);
  throws(() => parseIpLinkJson('[{"ifname":"eth0"}]'), /eth0\): no statistics/);
  throws(
    () => parseIpLinkJson('[{"ifname":"eth0","stats64":{"rx":{"bytes":-1,"packets":0},"tx":{}}}]'),
    /no bytes counter/,
  );
});
