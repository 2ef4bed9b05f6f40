import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decisionKeys } from '../../functions/core/keys.ts';
import { greygateConfig, postfixRequest } from './fixtures.ts';

const sha1 = (clear: string) => createHash('sha1').update(clear).digest('hex');

describe('decisionKeys (postgrey.md §1 key layout)', () => {
  it.each([
    ['the §2 example dump key', {}, '192.0.2.0/alice@example.net/bob@example.org'],
    ['VERP digits share one key', { sender: 'bounce-123@lists.example.net', recipient: 'gina@example.org' }, '192.0.2.0/bounce-#@lists.example.net/gina@example.org'],
    ['the null sender leaves an empty middle', { sender: '', recipient: 'frank@example.org' }, '192.0.2.0//frank@example.org'],
    ['IPv6 clients key on their /64', { client_address: '2001:db8:1:2::25', recipient: 'ivan@example.org' }, '2001:db8:1:2:0:0:0:0/alice@example.net/ivan@example.org'],
    ['the whole key is lower-cased', { sender: 'Alice@Example.NET', recipient: 'BOB@Example.org' }, '192.0.2.0/alice@example.net/bob@example.org'],
    ['the recipient +extension is kept', { recipient: 'bob+x@example.org' }, '192.0.2.0/alice@example.net/bob+x@example.org'],
    ['only ASCII letters are lower-cased, like Perl lc on bytes', { sender: 'ÄLICE@Example.net' }, '192.0.2.0/Älice@example.net/bob@example.org'],
  ])('%s', (_what, overrides, expected) => {
    // Prepare
    const request = postfixRequest(overrides);
    // Act
    const keys = decisionKeys(request, greygateConfig());
    // Assess
    expect(keys.triplet).toBe(expected);
  });

  it('reads the client auto-whitelist record by exact IP while AWL is on', () => {
    // Prepare
    const request = postfixRequest({ client_address: '203.0.113.50' });
    // Act
    const keys = decisionKeys(request, greygateConfig({ autoWhitelistClients: 5 }));
    // Assess
    expect(keys.client).toBe('203.0.113.50');
  });

  it('reads no client record when --auto-whitelist-clients=0', () => {
    // Prepare
    const request = postfixRequest();
    // Act
    const keys = decisionKeys(request, greygateConfig({ autoWhitelistClients: 0 }));
    // Assess
    expect(keys.client).toBeNull();
  });

  it('with privacy, hashes exactly the clear keys (the §9 SHA-1 check, by host)', () => {
    // Prepare: Postgrey's own --privacy hash stands in for greygate's HMAC; the clear string is the point
    const request = postfixRequest();
    const config = greygateConfig({ lookupByHost: true });
    // Act
    const keys = decisionKeys(request, config, sha1);
    // Assess
    expect(keys.triplet).toBe(sha1('192.0.2.10/32/alice@example.net/bob@example.org'));
    expect(keys.triplet).toMatch(/^[0-9a-f]{40}$/);
    expect(keys.client).toBe(sha1('192.0.2.10'));
  });
});
