// What a client says of itself, as score mode weighs it: no verified name, a HELO that is an
// address literal, localhost, a bare word, or a name of another organisation than the verified
// host name. Against the real Public Suffix List (tldts).

import { describe, expect, it } from 'vitest';
import { clientSignals } from '../../functions/selective/client-signals.ts';
import { selectiveDecision, DEFAULT_SELECTIVE_SETTINGS } from '../../functions/selective/selective.ts';
import { parseDomainWithPsl } from '../../functions/service/public-suffix-list.ts';

const signals = (clientName: string, heloName?: string) =>
  clientSignals({ clientName, ...(heloName === undefined ? {} : { heloName }) }, parseDomainWithPsl);

describe('client signals', () => {
  it.each([
    ['mail-yw1-f169.google.com', 'mail-yw1-f169.google.com', []],
    ['mail-eopbgr10051.outbound.protection.outlook.com', 'EUR05-AM6-obe.outbound.protection.outlook.com', []],
    ['mx.example.net', 'mx.example.net.', []],
    ['mx.example.net', undefined, []],
    ['mx.example.net', '', []],
    ['unknown', 'mx.example.net', ['no-verified-name']],
    ['', 'mx.example.net', ['no-verified-name']],
    ['mx.example.net', '[192.0.2.1]', ['helo-ip-literal']],
    ['mx.example.net', '192.0.2.1', ['helo-ip-literal']],
    ['mx.example.net', '[IPv6:2001:db8::1]', ['helo-ip-literal']],
    ['mx.example.net', 'localhost', ['helo-localhost']],
    ['mx.example.net', 'localhost.localdomain', ['helo-localhost']],
    ['mx.example.net', 'DESKTOP-4F2K', ['helo-bare-word']],
    ['unknown', 'user-pc', ['no-verified-name', 'helo-bare-word']],
    // a host calling itself Google's from a network that is not Google's
    ['host.example-hoster.net', 'mail-yw1-f169.google.com', ['helo-other-org']],
    // an unverified client claiming a name is counted as unverified only
    ['unknown', 'mail-yw1-f169.google.com', ['no-verified-name']],
  ])('%s saying HELO %s: %j', (name, helo, expected) => {
    expect(signals(name, helo)).toEqual(expected);
  });

  it('does not compare organisations without the Public Suffix List', () => {
    expect(clientSignals({ clientName: 'host.example-hoster.net', heloName: 'mail.google.com' })).toEqual([]);
  });
});

describe('score mode with client signals', () => {
  const settings = {
    ...DEFAULT_SELECTIVE_SETTINGS,
    mode: 'score' as const,
    greylistScore: 2,
    signalWeights: { ...DEFAULT_SELECTIVE_SETTINGS.signalWeights, 'helo-ip-literal': 1, 'helo-other-org': 2 },
  };

  it('adds each raised signal\'s weight and names it, counted or not', () => {
    const outcome = selectiveDecision({ settings, s25r: { suspicious: true, rule: 1 }, clientSignals: ['helo-ip-literal'], dnsLists: [] });
    expect(outcome).toEqual({ verdict: 'greylist', score: 2, signals: [{ name: 's25r', rule: 1 }, { name: 'helo-ip-literal' }] });
    const weightless = selectiveDecision({ settings, s25r: { suspicious: false }, clientSignals: ['helo-bare-word'], dnsLists: [] });
    expect(weightless).toEqual({ verdict: 'skip', reason: 'not-suspicious', score: 0, signals: [{ name: 'helo-bare-word' }] });
  });

  it('greylists a forged HELO alone when its weight reaches the threshold', () => {
    const outcome = selectiveDecision({ settings, s25r: { suspicious: false }, clientSignals: ['helo-other-org'], dnsLists: [] });
    expect(outcome.verdict).toBe('greylist');
  });
});
