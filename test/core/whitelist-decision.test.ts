import { describe, expect, it } from 'vitest';
import { whitelistDecision } from '../../functions/core/decide.ts';
import { EMPTY_WHITELISTS, buildWhitelists } from '../../functions/core/whitelist.ts';
import { postfixRequest } from './fixtures.ts';

const files = {
  clients: [
    { source: '/etc/greygate/whitelist_clients', text: 'mail.example.net\n/^relay\\d+\\.example\\.com$/\n' },
    { source: '/etc/greygate/whitelist_clients.local', text: '198.51.100.0/24\nbroken line\n' },
  ],
  recipients: [{ source: '/etc/greygate/whitelist_recipients', text: 'postmaster@\nabuse@\nbad address\n' }],
};

describe('buildWhitelists', () => {
  it('combines every file and reports each ignored line with its file', () => {
    // Prepare: the files above
    // Act
    const { whitelists, warnings } = buildWhitelists(files);
    // Assess
    expect(whitelists.counts).toEqual({ clients: 3, recipients: 2 });
    expect(warnings).toEqual([
      '/etc/greygate/whitelist_clients.local line 2: doesn\'t look like a hostname: "broken line"; entry ignored',
      '/etc/greygate/whitelist_recipients line 3: doesn\'t look like an address: "bad address"; entry ignored',
    ]);
    expect(whitelists.matchClient('relay7.example.com', '203.0.113.1')).toBe(true);
    expect(whitelists.matchClient('unknown', '198.51.100.77')).toBe(true);
    expect(whitelists.matchRecipient('abuse@example.org')).toBe(true);
  });

  it('EMPTY_WHITELISTS matches nothing', () => {
    // Prepare: nothing
    // Act
    const client = EMPTY_WHITELISTS.matchClient('mail.example.net', '192.0.2.10');
    const recipient = EMPTY_WHITELISTS.matchRecipient('postmaster@example.org');
    // Assess
    expect([client, recipient]).toEqual([false, false]);
    expect(EMPTY_WHITELISTS.counts).toEqual({ clients: 0, recipients: 0 });
  });
});

describe('whitelistDecision (steps 3–5)', () => {
  const { whitelists } = buildWhitelists(files);

  it.each([
    ['step 3: client name entry', { client_name: 'mail.example.net' }, 'client-whitelist'],
    ['step 3: client name regex', { client_name: 'relay12.example.com', client_address: '203.0.113.5' }, 'client-whitelist'],
    ['step 4: client IP entry', { client_name: 'unknown', client_address: '198.51.100.9' }, 'client-whitelist'],
    ['step 5: recipient entry', { client_name: 'unknown', client_address: '203.0.113.5', recipient: 'postmaster@example.org' }, 'recipient-whitelist'],
    ['a whitelisted client wins over a whitelisted recipient', { recipient: 'postmaster@example.org' }, 'client-whitelist'],
  ])('%s passes with DUNNO and stores nothing', (_what, overrides, reason) => {
    // Prepare
    const request = postfixRequest(overrides);
    // Act
    const decision = whitelistDecision(request, whitelists);
    // Assess
    expect(decision).toEqual({ verdict: 'pass', reason, action: 'DUNNO', writes: {}, events: [] });
  });

  it('returns null when nothing is whitelisted, so the triplet decides', () => {
    // Prepare
    const request = postfixRequest({ client_name: 'unknown', client_address: '203.0.113.5' });
    // Act
    const decision = whitelistDecision(request, whitelists);
    // Assess
    expect(decision).toBeNull();
  });

  it('does not whitelist by name a client without reverse DNS (`unknown`)', () => {
    // Prepare: the hostname entry names the host, but Postfix could not verify it
    const request = postfixRequest({ client_name: 'unknown', reverse_client_name: 'mail.example.net', helo_name: 'mail.example.net' });
    // Act
    const decision = whitelistDecision(request, whitelists);
    // Assess
    expect(decision).toBeNull();
  });
});
