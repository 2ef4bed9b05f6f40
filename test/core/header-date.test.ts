import { describe, expect, it } from 'vitest';
import { formatHeaderDate, isValidTimeZone } from '../../functions/core/header-date.ts';
import { LIVE_TEST_TIME } from './fixtures.ts';

const JULY = Date.UTC(2026, 6, 4, 12, 0, 5) / 1000;

describe('formatHeaderDate (%d: strftime "%a, %d %b %Y %T %Z", C locale)', () => {
  it.each([
    ['UTC, as in §9', LIVE_TEST_TIME, 'UTC', 'Sat, 28 Nov 2026 02:18:40 UTC'],
    ['a zone with a letter abbreviation in winter', LIVE_TEST_TIME, 'Europe/Berlin', 'Sat, 28 Nov 2026 03:18:40 CET'],
    ['the same zone in summer', JULY, 'Europe/Berlin', 'Sat, 04 Jul 2026 14:00:05 CEST'],
    ['an American zone, where the date is still the day before', LIVE_TEST_TIME, 'America/New_York', 'Fri, 27 Nov 2026 21:18:40 EST'],
    ['London in summer', JULY, 'Europe/London', 'Sat, 04 Jul 2026 13:00:05 BST'],
    ['a half-hour offset without a known abbreviation', LIVE_TEST_TIME, 'Asia/Kolkata', 'Sat, 28 Nov 2026 07:48:40 +0530'],
    ['a whole-hour offset without a known abbreviation', LIVE_TEST_TIME, 'Asia/Tokyo', 'Sat, 28 Nov 2026 11:18:40 +09'],
    ['a zero-padded day', Date.UTC(2027, 0, 3, 0, 0, 0) / 1000, 'UTC', 'Sun, 03 Jan 2027 00:00:00 UTC'],
  ])('%s', (_what, epochSeconds, timeZone, expected) => {
    // Prepare: the instant and the configured zone
    // Act
    const text = formatHeaderDate(epochSeconds, timeZone);
    // Assess
    expect(text).toBe(expected);
  });

  it('falls back to UTC for a zone the config should have refused', () => {
    // Prepare
    const zone = 'Mars/Olympus_Mons';
    // Act
    const text = formatHeaderDate(LIVE_TEST_TIME, zone);
    // Assess
    expect(isValidTimeZone(zone)).toBe(false);
    expect(isValidTimeZone('Europe/Zurich')).toBe(true);
    expect(text).toBe('Sat, 28 Nov 2026 02:18:40 UTC');
  });
});
