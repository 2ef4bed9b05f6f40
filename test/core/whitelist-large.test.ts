// Whitelists of a million lines: they load whole (a file's entries were once spread into one
// call, which overflows the stack past about 100,000), every entry matches, and the warnings
// still name file and line without flooding the log.

import { describe, expect, it } from 'vitest';
import { WARNINGS_PER_FILE, buildWhitelists } from '../../functions/core/whitelist.ts';
import {
  BROKEN_LINES,
  MILLION_ENTRIES,
  REGEX_LINES,
  ipv4HostOf,
  ipv6InsideOf,
  millionLineWhitelist,
} from '../support/large-whitelist.ts';

const SOURCE = '/etc/greygate/whitelist_clients.local';

describe('a client whitelist of a million lines', () => {
  it('loads every entry, matches from the first line to the last, and names each broken line', { timeout: 120_000 }, () => {
    // Prepare
    const text = millionLineWhitelist('partner.example');

    // Act
    const { whitelists, warnings } = buildWhitelists({ clients: [{ source: SOURCE, text }], recipients: [{ source: 'recipients', text: 'postmaster@\n' }] });

    // Assess
    expect(whitelists.counts).toEqual({ clients: MILLION_ENTRIES, recipients: 1 });
    expect(warnings).toEqual(BROKEN_LINES.map((line) => `${SOURCE} line ${line}: doesn't look like a hostname: "bad entry ${line - 1}"; entry ignored`));
    const match = (name: string, address: string): boolean => whitelists.matchClient(name, address);
    expect(match('unknown', ipv4HostOf(0))).toBe(true);
    expect(match('unknown', ipv4HostOf(999_990))).toBe(true);
    expect(match('unknown', '11.0.0.60')).toBe(true); // inside 11.0.0.48/28 (line 4)
    expect(match('unknown', ipv6InsideOf(999_994))).toBe(true);
    expect(match('MX999998.Sender998.partner.example', '192.0.2.1')).toBe(true);
    expect(match('a.host999999.partner.example', '192.0.2.1')).toBe(true);
    expect(REGEX_LINES).toContain(900_010);
    expect(match('RELAY900009-7.partner.example', '192.0.2.1')).toBe(true);
    // …and nothing else
    expect(match('unknown', '10.15.66.64')).toBe(false); // i = 1,000,000: past the last line
    expect(match('mx999997.partner.example', '192.0.2.1')).toBe(false);
    expect(match('bad', '192.0.2.1')).toBe(false);
  });

  it('lists the first ignored lines of a file, then counts the rest in one warning', () => {
    // Prepare
    const text = Array.from({ length: 5000 }, (_, i) => `broken entry ${i}`).join('\n');

    // Act
    const { whitelists, warnings } = buildWhitelists({ clients: [{ source: SOURCE, text }], recipients: [] });

    // Assess
    expect(whitelists.counts.clients).toBe(0);
    expect(warnings).toHaveLength(WARNINGS_PER_FILE + 1);
    expect(warnings[0]).toBe(`${SOURCE} line 1: doesn't look like a hostname: "broken entry 0"; entry ignored`);
    expect(warnings.at(-1)).toBe(`${SOURCE}: ${5000 - WARNINGS_PER_FILE} more lines ignored (only the first ${WARNINGS_PER_FILE} are listed)`);
  });
});
