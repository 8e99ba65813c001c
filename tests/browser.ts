/**
 * A real browser for tests: Debian's chromium, headless, driven through the
 * DevTools protocol by npm puppeteer-core over a pipe (no port is opened).
 * A page is opened from `file://`, every request it makes is recorded and
 * anything but the page itself is refused, console errors, page errors and
 * dialogs are collected, and screenshots are taken at a desktop and a phone
 * width. Every wait is bounded; the browser is killed and its profile
 * removed whatever happens.
 *
 * @module
 */
// deno-lint-ignore-file no-console

import puppeteer, { type Browser, type Page } from "puppeteer-core";
import { decode } from "fast-png";

/** The chromium binary: the real one, not Debian's shell wrapper (which reads /etc/chromium.d). */
export const CHROMIUM: string | undefined = ["/usr/lib/chromium/chromium", "/usr/bin/chromium"].find((p) => {
  try {
    return Deno.statSync(p).isFile;
  } catch {
    return false;
  }
});

/** The flags chromium gets: headless, as root, and quiet (no update, sync or background requests). */
export const CHROMIUM_FLAGS: readonly string[] = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  // Belt and braces: no host name resolves, so nothing could leave even unintercepted.
  "--host-resolver-rules=MAP * ~NOTFOUND",
];

/** Viewports the pages are looked at in. */
export const VIEWPORTS = {
  desktop: { width: 1280, height: 800 },
  phone: { width: 390, height: 844, isMobile: true, hasTouch: true, deviceScaleFactor: 1 },
} as const;

/** The longest any one browser step may take, in ms. */
const STEP_MS = 20_000;

/**
 * Registers a test that needs chromium. Where it is missing the test is
 * reported as ignored (never passed) and the reason printed.
 */
export function browserTest(name: string, fn: (browser: Browser) => Promise<void>, budgetMs = 90_000): void {
  if (CHROMIUM === undefined) {
    console.log(`browser test "${name}" IGNORED (not passed): chromium is not installed (apt-get install chromium)`);
  }
  Deno.test({
    name,
    ignore: CHROMIUM === undefined,
    // puppeteer keeps protocol callbacks and timers that end with the browser, after the test's own.
    sanitizeOps: false,
    sanitizeResources: false,
    fn: () => withBrowser(fn, budgetMs),
  });
}

/**
 * Starts chromium with a fresh profile, runs `fn`, and then closes the
 * browser (killing it if it does not close within 5 s) and removes the
 * profile, whatever happened. `fn` failing or taking longer than `budgetMs`
 * fails the call.
 */
export async function withBrowser<T>(fn: (browser: Browser) => Promise<T>, budgetMs = 90_000): Promise<T> {
  if (CHROMIUM === undefined) throw new Error("chromium is not installed (apt-get install chromium)");
  const profile = await Deno.makeTempDir({ prefix: "netmon-chromium-" });
  let browser: Browser | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    browser = await puppeteer.launch({
      executablePath: CHROMIUM,
      ignoreDefaultArgs: true,
      pipe: true,
      timeout: STEP_MS,
      protocolTimeout: STEP_MS,
      args: [...CHROMIUM_FLAGS, `--user-data-dir=${profile}/data`, "about:blank"],
      // Only what chromium needs: a home for its caches inside the profile.
      env: { HOME: profile, PATH: "/usr/bin:/bin", LANG: "C.UTF-8", TZ: Deno.env.get("TZ") ?? "UTC" },
      handleSIGINT: false,
      handleSIGTERM: false,
      handleSIGHUP: false,
    });
    const watchdog = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the browser test took longer than ${budgetMs} ms`)), budgetMs);
    });
    return await Promise.race([fn(browser), watchdog]);
  } finally {
    clearTimeout(timer);
    if (browser !== undefined) {
      const proc = browser.process();
      await Promise.race([browser.close().catch(() => {}), new Promise((r) => setTimeout(r, 5_000))]);
      if (proc !== null && proc.exitCode === null && proc.signalCode === null) proc.kill("SIGKILL");
    }
    await Deno.remove(profile, { recursive: true }).catch(() => {});
  }
}

/**
 * What happened while a page was open. The page is loaded once per viewport
 * (switching to a phone viewport reloads it), so an event may be seen twice.
 */
export interface Visit {
  /** Every request the page made, in order (the page itself first). */
  requests: string[];
  /** Requests for anything but the page itself (and the files allowed): each was refused. */
  leaving: string[];
  /** Console messages of type error or warning, and uncaught page errors. */
  errors: string[];
  /** Dialogs (alert, confirm, prompt) the page opened: each was dismissed. */
  dialogs: string[];
  /** PNG screenshots of the first screen at each viewport. */
  shots: { desktop: Uint8Array; phone: Uint8Array };
  /** How far the phone layout is wider than the phone (0: no sideways scrolling). */
  phoneOverflow: number;
}

/**
 * Opens `url` (a `file://` URL) in a new tab, looks at it at the desktop
 * viewport, runs `inspect` on it, then looks at it at the phone viewport (a
 * reload) and closes the tab. Requests for `allowed` URLs (files of the page's
 * own, such as a picture beside it) are let through; any other is refused.
 */
export async function visit<T = undefined>(
  browser: Browser,
  url: string,
  inspect?: (page: Page) => Promise<T>,
  allowed: readonly string[] = [],
): Promise<Visit & { inspected: T | undefined }> {
  const page = await browser.newPage();
  const requests: string[] = [];
  const leaving: string[] = [];
  const errors: string[] = [];
  const dialogs: string[] = [];
  try {
    page.setDefaultTimeout(STEP_MS);
    page.setDefaultNavigationTimeout(STEP_MS);
    await page.setRequestInterception(true);
    page.on("request", (req) => {
      const u = req.url();
      requests.push(u);
      if (u === url || allowed.includes(u)) void req.continue().catch(() => {});
      else {
        leaving.push(u);
        void req.abort("blockedbyclient").catch(() => {});
      }
    });
    page.on("console", (msg) => {
      if (msg.type() === "error" || msg.type() === "warn") errors.push(`console.${msg.type()}: ${msg.text()}`);
    });
    page.on("pageerror", (err) => errors.push(`page error: ${err instanceof Error ? err.message : String(err)}`));
    page.on("dialog", (dialog) => {
      dialogs.push(`${dialog.type()}: ${dialog.message()}`);
      void dialog.dismiss().catch(() => {});
    });
    await page.setViewport(VIEWPORTS.desktop);
    const response = await page.goto(url, { waitUntil: "load" });
    if (response !== null && !response.ok()) throw new Error(`${url}: the browser got status ${response.status()}`);
    const desktop = await page.screenshot({ type: "png" });
    const inspected = inspect ? await inspect(page) : undefined;
    await page.setViewport(VIEWPORTS.phone);
    const phone = await page.screenshot({ type: "png" });
    const phoneOverflow = Number(await page.evaluate("document.documentElement.scrollWidth - window.innerWidth"));
    return { requests, leaving, errors, dialogs, shots: { desktop, phone }, phoneOverflow, inspected };
  } finally {
    await page.close().catch(() => {});
  }
}

/** Number of distinct colours in a PNG: 1 for a blank picture. */
export function distinctColours(png: Uint8Array): number {
  const image = decode(png);
  const { data, channels } = image;
  if (image.depth !== 8 || image.palette !== undefined) throw new Error("expected an 8-bit RGB(A) screenshot");
  const seen = new Set<number>();
  for (let i = 0; i < data.length; i += channels) {
    let key = 0;
    for (let c = 0; c < channels; c++) key = key * 256 + (data[i + c] as number);
    seen.add(key);
  }
  return seen.size;
}

/** Width and height of a PNG. */
export function pngSize(png: Uint8Array): { width: number; height: number } {
  const { width, height } = decode(png);
  return { width, height };
}
