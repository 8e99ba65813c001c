/**
 * When the machine booted: now minus `Deno.osUptime()` (needs
 * `--allow-sys=osUptime`), for telling a reboot between two samples from a
 * counter that merely grew.
 *
 * Test seam: `NETMON_TEST_BOOT_TIME` (seconds since the epoch) replaces the
 * boot time, but only where the run is allowed to read that variable, which
 * none of deno.json's permission sets allows: tests that fake the wall clock
 * with libfaketime (which does not fake the uptime) pin the boot time with it,
 * and a test moves it to stand for a reboot.
 *
 * @module
 */

import { denoPermissionError } from "./errors.ts";

/** The boot time and the instant it was worked out at. */
export interface BootClock {
  /** Now, in seconds since the epoch. */
  at: number;
  /** When the machine booted, in seconds since the epoch. */
  boot: number;
}

/** The test seam's variable. */
export const TEST_BOOT_TIME = "NETMON_TEST_BOOT_TIME";

function seam(): number | undefined {
  if (Deno.permissions.querySync({ name: "env", variable: TEST_BOOT_TIME }).state !== "granted") return undefined;
  const text = Deno.env.get(TEST_BOOT_TIME);
  return text !== undefined && /^\d{1,12}$/.test(text) ? Number(text) : undefined;
}

/**
 * The boot time now, whole seconds (the uptime has one-second resolution).
 *
 * @example
 * ```ts
 * const { at, boot } = bootClock();
 * at - boot; // the uptime in seconds
 * ```
 */
export function bootClock(nowMs = Date.now()): BootClock {
  const at = Math.floor(nowMs / 1000);
  const pinned = seam();
  if (pinned !== undefined) return { at, boot: pinned };
  let uptime: number;
  try {
    uptime = Deno.osUptime();
  } catch (err) {
    throw denoPermissionError(err) ?? err;
  }
  return { at, boot: at - Math.floor(uptime) };
}
