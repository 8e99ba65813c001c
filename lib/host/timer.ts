/**
 * Timers that bound a wait (a program that may hang, a lock, a FIFO) and
 * never keep netmon alive once the wait is over.
 *
 * Deno's `setTimeout` loads its timer code the first time a process calls
 * it: about 11 ms (5-10% of a two-meter report's run),
 * paid by every report for a bound that almost never fires, and its timer
 * holds the process open unless unref'd. `Atomics.waitAsync`'s timeout is
 * V8's own: about 0.3 ms to set, it fires while the process waits on
 * something else, and it never holds the process open.
 * `tests/run_test.ts` checks both. Its time counts from when the process
 * next waits, not from the call: synchronous work right after it lengthens
 * the wait by as much (the bounds here are seconds; that work milliseconds).
 *
 * @module
 */

/** A wait of `ms` milliseconds: `done` resolves when it has passed; `cancel` ends it early (`done` then never resolves). */
export interface Timer {
  done: Promise<void>;
  cancel(): void;
}

/** Starts a {@linkcode Timer} of `ms` milliseconds. */
export function startTimer(ms: number): Timer {
  const cell = new Int32Array(new SharedArrayBuffer(4));
  const wait = Atomics.waitAsync(cell, 0, 0, ms);
  let cancelled = false;
  const done = new Promise<void>((resolve) => {
    if (!wait.async) resolve(); // ms was 0
    else void wait.value.then(() => cancelled || resolve());
  });
  return {
    done,
    cancel() {
      cancelled = true;
      Atomics.notify(cell, 0); // lets V8 drop the wait now rather than at its end
    },
  };
}

/**
 * `ms` as seconds for a message, to a tenth ("2.9", "10"): a bound worked
 * out from what is left of a deadline is not worth nine decimals.
 */
export function seconds(ms: number): string {
  return String(Math.round(ms / 100) / 10);
}
