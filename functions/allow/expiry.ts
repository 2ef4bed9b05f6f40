// The expiry of an allow entry as an admin writes it: a duration from now (`30m`, `12h`, `7d`,
// `2w`) or a date (`2027-01-31`, `2027-01-31T18:00:00Z`). A bare date ends at its midnight UTC.

import { AllowEntryError } from '../core/allow-entry.ts';

const UNITS: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3_600, d: 86_400, w: 604_800 };

/** Epoch seconds; throws AllowEntryError naming `expires`. */
export function parseExpiry(text: string, now: number): number {
  const value = text.trim();
  const duration = /^(\d{1,6})([smhdw])$/.exec(value);
  if (duration) {
    const seconds = Number(duration[1]) * (UNITS[duration[2] as string] as number);
    if (seconds <= 0) throw new AllowEntryError('expires', `"${text}" is not a positive duration`);
    return now + seconds;
  }
  if (/^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2})?(?:Z|[+-]\d{2}:?\d{2})?)?$/.test(value)) {
    // A date without a zone is UTC: the same entry must expire at the same moment on every host.
    const iso = value.length === 10 ? `${value}T00:00:00Z` : /Z|[+-]\d{2}:?\d{2}$/.test(value) ? value : `${value.replace(' ', 'T')}Z`;
    const ms = Date.parse(iso);
    if (Number.isFinite(ms)) {
      const at = Math.floor(ms / 1000);
      if (at <= now) throw new AllowEntryError('expires', `"${text}" is in the past`);
      return at;
    }
  }
  throw new AllowEntryError('expires', `"${text}" is not an expiry: use a duration (30m, 12h, 7d, 2w) or a date (2027-01-31, 2027-01-31T18:00:00Z)`);
}
