import { describe, expect, it } from 'vitest';
import { decide, whitelistDecision } from '../../functions/core/decide.ts';
import { formatLogLine, formatWhitelistedLine, logFields } from '../../functions/core/log-line.ts';
import type { Decision, DecisionState } from '../../functions/core/types.ts';
import { buildWhitelists } from '../../functions/core/whitelist.ts';
import { greygateConfig, postfixRequest } from './fixtures.ts';

const T0 = 1_795_832_317;
const config = greygateConfig({ delaySeconds: 2 });
const none: DecisionState = { triplet: null, client: null };
const seen: DecisionState = { triplet: { firstSeen: T0, lastSeen: T0, expiresAt: T0 + 1000 }, client: null };

function decisionAt(now: number, state: DecisionState, overrides: Record<string, string | undefined> = {}): Decision {
  return decide(postfixRequest(overrides), state, { config, now, realNow: now });
}

describe('formatLogLine (Postgrey\'s per-request line)', () => {
  it.each([
    [
      'a new triplet (§9 sample)',
      {},
      decisionAt(T0, none),
      'action=greylist, reason=new, client_name=mail.example.net, client_address=192.0.2.10, sender=alice@example.net, recipient=bob@example.org',
    ],
    [
      'an early retry, with the seconds missing',
      {},
      decisionAt(T0 + 1, seen),
      'action=greylist, reason=early-retry (1s missing), client_name=mail.example.net, client_address=192.0.2.10, sender=alice@example.net, recipient=bob@example.org',
    ],
    [
      'a first pass, with its delay (§9 sample)',
      {},
      decisionAt(T0 + 3, seen),
      'action=pass, reason=triplet found, delay=3, client_name=mail.example.net, client_address=192.0.2.10, sender=alice@example.net, recipient=bob@example.org',
    ],
    [
      'a later pass, without delay',
      {},
      decisionAt(T0 + 10, { triplet: { firstSeen: T0, lastSeen: T0 + 3, expiresAt: T0 + 1000 }, client: null }),
      'action=pass, reason=triplet found, client_name=mail.example.net, client_address=192.0.2.10, sender=alice@example.net, recipient=bob@example.org',
    ],
    [
      'an auto-whitelisted client',
      {},
      decisionAt(T0, { triplet: null, client: { count: 5, lastSeen: T0, expiresAt: T0 + 1000 } }),
      'action=pass, reason=client AWL, client_name=mail.example.net, client_address=192.0.2.10, sender=alice@example.net, recipient=bob@example.org',
    ],
    [
      'a queue id prefix, and the null sender left out',
      { queue_id: '4ABC1234', sender: '' },
      decisionAt(T0, none),
      '4ABC1234: action=greylist, reason=new, client_name=mail.example.net, client_address=192.0.2.10, recipient=bob@example.org',
    ],
    [
      'an empty client_name left out',
      { client_name: '' },
      decisionAt(T0, none),
      'action=greylist, reason=new, client_address=192.0.2.10, sender=alice@example.net, recipient=bob@example.org',
    ],
  ])('%s', (_what, overrides, decision, expected) => {
    // Prepare
    const request = postfixRequest(overrides);
    // Act
    const line = formatLogLine(request, decision);
    // Assess
    expect(line).toBe(expected);
  });

  it.each([
    ['client whitelist', { client_name: 'wl.example.com' }],
    ['recipient whitelist', { recipient: 'postmaster@example.org' }],
  ])('words whitelist passes as Postgrey did: %s', (wording, overrides) => {
    // Prepare
    const { whitelists } = buildWhitelists({
      clients: [{ source: 'c', text: 'wl.example.com' }],
      recipients: [{ source: 'r', text: 'postmaster@' }],
    });
    const request = postfixRequest(overrides);
    const decision = whitelistDecision(request, whitelists);
    if (decision === null) throw new Error('expected a whitelist decision');
    // Act
    const line = formatLogLine(request, decision);
    // Assess
    expect(line).toMatch(new RegExp(`^action=pass, reason=${wording}, client_name=`));
  });
});

describe('logFields (the JSON-log form)', () => {
  it('carries greygate\'s reason code, Postgrey\'s wording and the reply', () => {
    // Prepare
    const request = postfixRequest({ queue_id: '4ABC1234', sender: '' });
    const decision = decisionAt(T0 + 1, seen, { queue_id: '4ABC1234', sender: '' });
    // Act
    const fields = logFields(request, decision);
    // Assess
    expect(fields).toEqual({
      verdict: 'greylist',
      reason: 'early-retry',
      postgrey_reason: 'early-retry (1s missing)',
      action: 'DEFER_IF_PERMIT 4.2.0 Greylisted, please retry in 1 seconds',
      retry_after_seconds: 1,
      client_name: 'mail.example.net',
      client_address: '192.0.2.10',
      sender: '',
      recipient: 'bob@example.org',
      queue_id: '4ABC1234',
      instance: '1234.5678.9abc.0',
    });
  });

  it('carries the delay of a first pass', () => {
    // Prepare
    const request = postfixRequest();
    // Act
    const fields = logFields(request, decisionAt(T0 + 3, seen));
    // Assess
    expect(fields).toMatchObject({ verdict: 'pass', reason: 'triplet-found', postgrey_reason: 'triplet found', delay: 3 });
  });
});

describe('selective greylisting in the log line', () => {
  const line = (decision: Decision, overrides: Record<string, string | undefined> = {}): string => formatLogLine(postfixRequest(overrides), decision);

  it('keeps Postgrey\'s fields first and unchanged, and appends the signals last', () => {
    // Prepare
    const plain = decisionAt(T0, none, { client_name: 'unknown' });
    const selective: Decision = { ...plain, signals: [{ name: 's25r', rule: 0 }, { name: 'dnsbl', zone: 'zen.example' }] };

    // Act
    const plainLine = line(plain, { client_name: 'unknown' });
    const selectiveLine = line(selective, { client_name: 'unknown' });

    // Assess
    expect(plainLine).toBe('action=greylist, reason=new, client_name=unknown, client_address=192.0.2.10, sender=alice@example.net, recipient=bob@example.org');
    expect(selectiveLine).toBe(`${plainLine}, signals=s25r:0|dnsbl:zen.example`);
  });

  it.each([
    [
      'a server that does not look dynamic',
      { verdict: 'pass', reason: 'not-suspicious', action: 'DUNNO', writes: {}, events: [], signals: [] },
      'action=pass, reason=not suspicious, client_name=mail.example.net, client_address=192.0.2.10, sender=alice@example.net, recipient=bob@example.org, signals=none',
    ],
    [
      'an allow-listed dynamic client, a cleared exception and a list that timed out',
      {
        verdict: 'pass',
        reason: 'dnswl',
        action: 'DUNNO',
        writes: {},
        events: [],
        signals: [
          { name: 's25r', rule: 'dynamic-pattern', pattern: 'optonline' },
          { name: 'dnswl', zone: 'list.dnswl.example' },
          { name: 'dns-error', zone: 'bl.example', error: 'timeout' },
        ],
      },
      'action=pass, reason=dnswl, client_name=mail.example.net, client_address=192.0.2.10, sender=alice@example.net, recipient=bob@example.org, signals=s25r:dynamic-pattern:optonline|dnswl:list.dnswl.example|dns-error:bl.example:timeout',
    ],
    [
      'a real mail server cleared by an exception',
      { verdict: 'pass', reason: 'not-suspicious', action: 'DUNNO', writes: {}, events: [], signals: [{ name: 's25r-exception', rule: 1, exception: 'google' }] },
      'action=pass, reason=not suspicious, client_name=mail.example.net, client_address=192.0.2.10, sender=alice@example.net, recipient=bob@example.org, signals=s25r-exception:google',
    ],
  ] satisfies Array<[string, Decision, string]>)('words %s', (_what, decision, expected) => {
    expect(line(decision)).toBe(expected);
  });

  it('adds the signals to the JSON fields as the HTTP answer has them, and only when present', () => {
    // Prepare
    const plain = decisionAt(T0, none);
    const signals = [{ name: 's25r', rule: 3 }] as const;

    // Act
    const withSignals = logFields(postfixRequest(), { ...plain, signals: [...signals] });
    const without = logFields(postfixRequest(), plain);

    // Assess
    expect(withSignals.signals).toEqual([{ name: 's25r', rule: 3 }]);
    expect(without).not.toHaveProperty('signals');
  });
});

describe('formatWhitelistedLine', () => {
  it.each([
    ['awl.example.com', 'whitelisted: awl.example.com[203.0.113.50]'],
    ['', 'whitelisted: 203.0.113.50'],
  ])('client_name %j → %s', (clientName, expected) => {
    // Prepare
    const request = postfixRequest({ client_name: clientName, client_address: '203.0.113.50' });
    // Act
    const line = formatWhitelistedLine(request);
    // Assess
    expect(line).toBe(expected);
  });
});
