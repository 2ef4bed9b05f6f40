// `%d` of the X-Greylist header: Postgrey's strftime("%a, %d %b %Y %T %Z", localtime(now)) in the
// C locale, e.g. `Sat, 28 Nov 2026 02:18:40 UTC`, computed with Intl so the core stays pure.
//
// %Z is the zone abbreviation. Intl has no tz-database abbreviations, so: en-US names (UTC, GMT,
// EST, PDT…), else en-GB's (CET, CEST, BST…), else tzdata's numeric style (`+09`, `+0530`) — what
// glibc prints for zones without a customary abbreviation. A few zones (Asia/Tokyo is JST in glibc)
// therefore show a numeric abbreviation where Postgrey showed letters.

type Formatters = { main: Intl.DateTimeFormat; britishZone: Intl.DateTimeFormat };

const formatters = new Map<string, Formatters>();

export function isValidTimeZone(timeZone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone });
    return true;
  } catch {
    return false;
  }
}

function formattersFor(timeZone: string): Formatters {
  const cached = formatters.get(timeZone);
  if (cached !== undefined) return cached;
  // An invalid zone should have been refused by the config parser; a header date in UTC beats
  // failing the message's first pass over a cosmetic field.
  const zone = isValidTimeZone(timeZone) ? timeZone : 'UTC';
  const created: Formatters = {
    main: new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      weekday: 'short',
      day: '2-digit',
      month: 'short',
      year: 'numeric',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
      timeZoneName: 'short',
    }),
    britishZone: new Intl.DateTimeFormat('en-GB', { timeZone: zone, timeZoneName: 'short' }),
  };
  formatters.set(timeZone, created);
  return created;
}

const NUMERIC_ZONE = /^GMT([+-])(\d{1,2})(?::(\d{2}))?$/;

function zoneAbbreviation(us: string, date: Date, british: Intl.DateTimeFormat): string {
  if (!NUMERIC_ZONE.test(us)) return us;
  const gb = british.formatToParts(date).find((part) => part.type === 'timeZoneName')?.value ?? us;
  const numeric = NUMERIC_ZONE.exec(gb);
  if (numeric === null) return gb;
  const [, sign = '+', hours = '0', minutes] = numeric;
  return `${sign}${hours.padStart(2, '0')}${minutes ?? ''}`;
}

/** Formats epoch seconds as Postgrey's `%d`. */
export function formatHeaderDate(epochSeconds: number, timeZone: string): string {
  const { main, britishZone } = formattersFor(timeZone);
  const date = new Date(epochSeconds * 1000);
  const parts = new Map(main.formatToParts(date).map((part) => [part.type, part.value]));
  const get = (type: Intl.DateTimeFormatPartTypes) => parts.get(type) ?? '';
  const zone = zoneAbbreviation(get('timeZoneName'), date, britishZone);
  return `${get('weekday')}, ${get('day')} ${get('month')} ${get('year')} ${get('hour')}:${get('minute')}:${get('second')} ${zone}`;
}
