// The pure half of import-postgrey: db_dump -p's text, Postgrey's values as greygate records, and
// the merge that makes a second import write nothing.

import { describe, expect, it } from 'vitest';
import { DEFAULT_POLICY_CONFIG } from '../../functions/core/index.ts';
import { recordLifetimes } from '../../functions/core/record-lifetime.ts';
import { parseDbDump } from '../../functions/migrate/db-dump-parser.ts';
import { clientFromPostgrey, looksHashed, mergeClient, mergeTriplet, tripletFromPostgrey } from '../../functions/migrate/postgrey-records.ts';

const NOW = 1_800_000_000;
const LIFETIMES = recordLifetimes(DEFAULT_POLICY_CONFIG);

describe('db_dump -p output', () => {
  const dump = (data: string[]): string => ['VERSION=3', 'format=print', 'type=btree', 'HEADER=END', ...data, 'DATA=END', ''].join('\n');

  it('gives key/value pairs, with \\xx escapes and \\\\ undone', () => {
    const { header, entries } = parseDbDump(dump([' 192.0.2.0/a\\5cb@example.net/c@example.org', ' 100,200', ' caf\\c3\\a9', ' 1,2']));
    expect(header.get('type')).toBe('btree');
    expect(entries).toEqual([
      ['192.0.2.0/a\\b@example.net/c@example.org', '100,200'],
      ['café', '1,2'],
    ]);
  });

  it('refuses output it does not understand, saying what is wrong', () => {
    expect(() => parseDbDump(dump([' key-without-value']))).toThrow(/key "key-without-value" has no value line/);
    expect(() => parseDbDump('VERSION=3\nformat=bytevalue\nHEADER=END\nDATA=END\n')).toThrow(/run db_dump with -p/);
    expect(() => parseDbDump(dump([' bad\\zz', ' 1']))).toThrow(/bad escape/);
    expect(() => parseDbDump('VERSION=3\nformat=print\nHEADER=END\n 1\n 2')).toThrow(/no DATA=END line/);
  });
});

describe("Postgrey's records", () => {
  it('keeps a passed triplet for max-age after its last sighting, a pending one for the retry window after its first', () => {
    const passed = tripletFromPostgrey('192.0.2.0/a@example.net/b@example.org', `${NOW - 1000},${NOW - 100}`, NOW, DEFAULT_POLICY_CONFIG);
    expect(passed).toEqual({ ok: true, key: '192.0.2.0/a@example.net/b@example.org', record: { firstSeen: NOW - 1000, lastSeen: NOW - 100, expiresAt: NOW - 100 + LIFETIMES.passedTriplet } });
    const pending = tripletFromPostgrey('192.0.2.0/p@example.net/b@example.org', `${NOW - 100},${NOW - 50}`, NOW, DEFAULT_POLICY_CONFIG);
    expect(pending).toMatchObject({ ok: true, record: { expiresAt: NOW - 100 + LIFETIMES.waitingTriplet } });
    // Postgrey 1.37 appends the client host name to the value: ignored.
    expect(tripletFromPostgrey('192.0.2.0/h@example.net/b@example.org', `${NOW - 1000},${NOW - 100},mx.example.net`, NOW, DEFAULT_POLICY_CONFIG)).toMatchObject({ ok: true });
  });

  it('skips expired, future and malformed entries with the reason', () => {
    expect(tripletFromPostgrey('192.0.2.0/a@example.net/b@example.org', `${NOW - 3600 * 24 * 3},${NOW - 3600 * 24 * 3}`, NOW, DEFAULT_POLICY_CONFIG)).toMatchObject({ ok: false, reason: 'expired' });
    expect(tripletFromPostgrey('192.0.2.0/a@example.net/b@example.org', `${NOW},${NOW + 60}`, NOW, DEFAULT_POLICY_CONFIG)).toMatchObject({ ok: false, reason: 'future' });
    expect(tripletFromPostgrey('192.0.2.0/A@example.net/b@example.org', `${NOW},${NOW}`, NOW, DEFAULT_POLICY_CONFIG)).toMatchObject({ ok: false, reason: 'malformed' });
    expect(clientFromPostgrey('192.0.2.10', 'five,1', NOW, DEFAULT_POLICY_CONFIG)).toMatchObject({ ok: false, reason: 'malformed' });
    expect(clientFromPostgrey('192.0.2.10', `3,${NOW - LIFETIMES.client - 1}`, NOW, DEFAULT_POLICY_CONFIG)).toMatchObject({ ok: false, reason: 'expired' });
  });

  it("recognises a Postgrey --privacy database by its SHA-1 keys only when every key is one", () => {
    expect(looksHashed(['0123456789abcdef0123456789abcdef01234567'])).toBe(true);
    expect(looksHashed(['0123456789abcdef0123456789abcdef01234567', '192.0.2.10'])).toBe(false);
    expect(looksHashed([])).toBe(false);
  });

  it('merges without ever lowering what greygate learned, and writes nothing the second time', () => {
    const imported = { firstSeen: 100, lastSeen: 500, expiresAt: 5000 };
    expect(mergeTriplet(null, imported)).toEqual(imported);
    const held = { firstSeen: 300, lastSeen: 900, expiresAt: 9000 };
    const merged = mergeTriplet(held, imported);
    expect(merged).toEqual({ firstSeen: 100, lastSeen: 900, expiresAt: 9000 });
    expect(mergeTriplet(merged ?? held, imported)).toBeUndefined();
    expect(mergeClient({ count: 9, lastSeen: 10, expiresAt: 20 }, { count: 3, lastSeen: 15, expiresAt: 25 })).toEqual({ count: 9, lastSeen: 15, expiresAt: 25 });
    expect(mergeClient({ count: 9, lastSeen: 15, expiresAt: 25 }, { count: 3, lastSeen: 15, expiresAt: 25 })).toBeUndefined();
  });
});
