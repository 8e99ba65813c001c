/**
 * The sent ledger's keys for alerts (`netmon.sent`, lib/state/tally_file.ts).
 *
 * An alert is about a customer's billing cycle as people name it: by its
 * dates. So its key holds the cycle's dates, as its subject and a
 * statement's key do, not the instant it starts: moving `[billing] timezone`
 * (or a new rule for a zone's offsets) moves that instant but not the dates,
 * and must not send the cycle's alerts again; another `cycle_day` gives other
 * dates, another cycle, alerted on its own.
 *
 * Keys, tab-separated (a customer name holds no tab):
 * `quota<TAB>acme<TAB>2026-11-15 .. 2026-12-14<TAB>80`, `commit<TAB>…<TAB>80`,
 * `projected<TAB>acme<TAB>2026-11-15 .. 2026-12-14`. Versions before wrote the
 * cycle's start with its UTC offset in place of the dates
 * (`quota<TAB>acme<TAB>2026-11-15T00:00:00+01:00<TAB>80`); such a key still
 * stands for the cycle starting on its date, so that a ledger written before
 * an upgrade sends nothing again.
 *
 * @module
 */

/** What an alert is about. */
export type AlertKind = "quota" | "commit" | "projected";

/** An alert's ledger key: its kind, the customer, the cycle's dates (`2026-11-15 .. 2026-12-14`), the threshold. */
export function alertKey(kind: AlertKind, customer: string, cycle: string, percent?: number): string {
  return `${kind}\t${customer}\t${cycle}${percent === undefined ? "" : `\t${percent}`}`;
}

/** A key of the versions before: the cycle's start as `YYYY-MM-DDThh:mm:ss` with its UTC offset. */
const OLD_KEY =
  /^(quota|commit|projected)\t([^\t]*)\t(\d{4}-\d{2}-\d{2})T\d{2}:\d{2}:\d{2}(?:Z|[+-]\d{2}:\d{2})(\t[^\t]*)?$/;

/** The alerts a ledger records, looked up by what they are about. */
export class SentAlerts {
  #sent: ReadonlySet<string>;
  /** Keys of the versions before, by their cycle's start date in place of the instant (made when first needed). */
  #old: Set<string> | undefined;

  /** The alerts of the ledger's keys `sent`. */
  constructor(sent: ReadonlySet<string>) {
    this.#sent = sent;
  }

  /**
   * Whether the alert of `kind` for `customer`'s cycle `cycle` (its dates) at `percent` went: `"sent"` when the
   * ledger has its key, `"sent before"` when it has a key of the versions before for the cycle starting on the same
   * date (record its key as it is now written, so that the next run finds it at once), `"due"` when neither.
   */
  status(kind: AlertKind, customer: string, cycle: string, percent?: number): "sent" | "sent before" | "due" {
    if (this.#sent.has(alertKey(kind, customer, cycle, percent))) return "sent";
    if (this.#old === undefined) {
      this.#old = new Set();
      for (const k of this.#sent) {
        const m = OLD_KEY.exec(k);
        if (m) this.#old.add(`${m[1]}\t${m[2]}\t${m[3]}${m[4] ?? ""}`);
      }
    }
    return this.#old.has(alertKey(kind, customer, cycle.slice(0, 10), percent)) ? "sent before" : "due";
  }
}
