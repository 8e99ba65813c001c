/**
 * The browser harness itself catches what the page tests rely on it to
 * catch: a request leaving the page, a console error, a dialog, a blank
 * screenshot, sideways scrolling on a phone.
 */
import { deepEqual as assertEquals, ok } from "node:assert/strict";
import { browserTest, distinctColours, pngSize, visit } from "./browser.ts";
import { withTempDir } from "./helpers.ts";

browserTest("the harness records and refuses requests leaving the page, errors and dialogs", async (browser) => {
  await withTempDir(async (dir) => {
    const path = `${dir}/leaky.html`;
    await Deno.writeTextFile(
      path,
      `<!doctype html><title>leaky</title><p>text</p><img src="http://192.0.2.1/x.png">` +
        `<img src="other.png"><script>console.error("boom"); alert("hi");</script>`,
    );
    const v = await visit(browser, `file://${path}`);
    assertEquals(v.requests[0], `file://${path}`);
    assertEquals([...new Set(v.leaving)].sort(), ["file://" + dir + "/other.png", "http://192.0.2.1/x.png"].sort());
    ok(v.errors.some((e) => e === "console.error: boom"), v.errors.join("\n"));
    // Loaded once per viewport: the same dialog each time.
    assertEquals([...new Set(v.dialogs)], ["alert: hi"]);
  });
});

browserTest(
  "a blank page has one colour, a page with text many; screenshots have the viewport's size",
  async (browser) => {
    await withTempDir(async (dir) => {
      await Deno.writeTextFile(`${dir}/blank.html`, `<!doctype html><title>blank</title>`);
      await Deno.writeTextFile(
        `${dir}/text.html`,
        `<!doctype html><title>text</title><meta name="viewport" content="width=device-width"><h1>Usage</h1><p>Some words.</p>`,
      );
      await Deno.writeTextFile(
        `${dir}/wide.html`,
        `<!doctype html><title>wide</title><div style="width:2000px">x</div>`,
      );
      const blank = await visit(browser, `file://${dir}/blank.html`);
      assertEquals(distinctColours(blank.shots.desktop), 1);
      assertEquals(distinctColours(blank.shots.phone), 1);
      const text = await visit(browser, `file://${dir}/text.html`);
      ok(distinctColours(text.shots.desktop) > 8, "text is drawn with more than a few colours");
      ok(distinctColours(text.shots.phone) > 8);
      assertEquals(pngSize(text.shots.desktop), { width: 1280, height: 800 });
      assertEquals(pngSize(text.shots.phone), { width: 390, height: 844 });
      assertEquals(text.phoneOverflow, 0);
      assertEquals([text.leaving, text.errors, text.dialogs], [[], [], []]);
      const wide = await visit(browser, `file://${dir}/wide.html`);
      ok(wide.phoneOverflow > 0, "a page wider than the phone is caught");
    });
  },
);
