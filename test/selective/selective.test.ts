// The selective-greylisting policy as an admin reads it: who skips greylisting, who does not, and
// which signals each answer names.

import { describe, expect, it } from 'vitest';
import { classifyClientName } from '../../functions/selective/s25r.ts';
import {
  DEFAULT_SELECTIVE_SETTINGS,
  selectiveDecision,
  type DnsListResult,
  type SelectiveSettings,
} from '../../functions/selective/selective.ts';

const settings = (overrides: Partial<SelectiveSettings> = {}): SelectiveSettings => ({ ...DEFAULT_SELECTIVE_SETTINGS, ...overrides });
const s25r = (name: string) => classifyClientName(name, '192.0.2.10', { ipv6: 'apply' });
const CLEAN = s25r('mail.example.net');
const DYNAMIC = s25r('p1234-ipad56.example.ne.jp');

const bl = (zone: string, listed: DnsListResult['listed'], weight = 1): DnsListResult => ({
  kind: 'dnsbl',
  zone,
  weight,
  listed,
  ...(listed === 'error' ? { error: 'timeout' as const } : {}),
});
const wl = (zone: string, listed: DnsListResult['listed'], weight = 10): DnsListResult => ({ kind: 'dnswl', zone, weight, listed });

describe('selective greylisting, s25r mode (Rgrey)', () => {
  it('skips greylisting for a well-named server, with no signal', () => {
    expect(selectiveDecision({ settings: settings({ mode: 's25r' }), s25r: CLEAN, dnsLists: [] })).toEqual({
      verdict: 'skip',
      reason: 'not-suspicious',
      signals: [],
    });
  });

  it('greylists an S25R match and names the rule', () => {
    expect(selectiveDecision({ settings: settings({ mode: 's25r' }), s25r: DYNAMIC, dnsLists: [] })).toEqual({
      verdict: 'greylist',
      signals: [{ name: 's25r', rule: 1 }],
    });
    expect(selectiveDecision({ settings: settings({ mode: 's25r' }), s25r: s25r('unknown'), dnsLists: [] }).signals).toEqual([
      { name: 's25r', rule: 0 },
    ]);
  });

  it('names the dynamic pattern, and the exception that cleared a real mail server', () => {
    // Act
    const pool = selectiveDecision({ settings: settings({ mode: 's25r' }), s25r: s25r('ool-4353abcd.dyn.optonline.net'), dnsLists: [] });
    const google = selectiveDecision({ settings: settings({ mode: 's25r' }), s25r: s25r('mail-ej1-f54.google.com'), dnsLists: [] });

    // Assess
    expect(pool).toEqual({ verdict: 'greylist', signals: [{ name: 's25r', rule: 'dynamic-pattern', pattern: 'optonline' }] });
    expect(google).toEqual({
      verdict: 'skip',
      reason: 'not-suspicious',
      signals: [{ name: 's25r-exception', rule: 1, exception: 'google' }],
    });
  });

  it('ignores DNS list results in s25r mode', () => {
    const outcome = selectiveDecision({ settings: settings({ mode: 's25r' }), s25r: CLEAN, dnsLists: [bl('bl.test', true)] });
    expect(outcome).toEqual({ verdict: 'skip', reason: 'not-suspicious', signals: [] });
  });

  it('greylists everyone, without signals, when off', () => {
    expect(selectiveDecision({ settings: settings({ mode: 'off' }), s25r: CLEAN, dnsLists: [] })).toEqual({ verdict: 'greylist', signals: [] });
  });
});

describe('selective greylisting, score mode', () => {
  const score = settings({ mode: 'score' });

  it.each([
    ['a clean name and no lists: score 0', CLEAN, [], 'skip', 0],
    ['an S25R match alone reaches the default threshold', DYNAMIC, [], 'greylist', 1],
    ['a DNSBL hit alone reaches it', CLEAN, [bl('bl.test', true)], 'greylist', 1],
    ['a DNSBL miss adds nothing', CLEAN, [bl('bl.test', false)], 'skip', 0],
    ['an S25R match plus two DNSBL hits, outweighed by one DNSWL hit', DYNAMIC, [bl('a.bl', true), bl('b.bl', true), wl('wl.test', true)], 'skip', -7],
    ['weights add up', CLEAN, [bl('a.bl', true, 2), bl('b.bl', true, 3)], 'greylist', 5],
  ] as const)('%s', (_what, s, lists, verdict, expectedScore) => {
    // Act
    const outcome = selectiveDecision({ settings: score, s25r: s, dnsLists: lists });

    // Assess
    expect(outcome.verdict).toBe(verdict);
    expect(outcome.score).toBe(expectedScore);
  });

  it('starts greylisting at --greylist-score', () => {
    // Prepare
    const strict = settings({ mode: 'score', greylistScore: 2 });

    // Act
    const s25rOnly = selectiveDecision({ settings: strict, s25r: DYNAMIC, dnsLists: [bl('bl.test', false)] });
    const both = selectiveDecision({ settings: strict, s25r: DYNAMIC, dnsLists: [bl('bl.test', true)] });

    // Assess
    expect(s25rOnly).toEqual({ verdict: 'skip', reason: 'not-suspicious', signals: [{ name: 's25r', rule: 1 }], score: 1 });
    expect(both).toEqual({ verdict: 'greylist', signals: [{ name: 's25r', rule: 1 }, { name: 'dnsbl', zone: 'bl.test' }], score: 2 });
  });

  it('gives reason dnswl when the allow-list is what skipped greylisting, not-suspicious otherwise', () => {
    // Act
    const rescued = selectiveDecision({ settings: score, s25r: DYNAMIC, dnsLists: [wl('wl.test', true)] });
    const cleanAnyway = selectiveDecision({ settings: score, s25r: CLEAN, dnsLists: [wl('wl.test', true)] });

    // Assess
    expect(rescued).toEqual({ verdict: 'skip', reason: 'dnswl', signals: [{ name: 's25r', rule: 1 }, { name: 'dnswl', zone: 'wl.test' }], score: -9 });
    expect(cleanAnyway).toMatchObject({ verdict: 'skip', reason: 'not-suspicious', signals: [{ name: 'dnswl', zone: 'wl.test' }] });
  });

  it('counts a DNS error as nothing: it neither defers mail nor lets it skip, and says so', () => {
    // Act
    const clean = selectiveDecision({ settings: score, s25r: CLEAN, dnsLists: [bl('bl.test', 'error'), wl('wl.test', 'error')] });
    const dynamic = selectiveDecision({ settings: score, s25r: DYNAMIC, dnsLists: [wl('wl.test', 'error')] });

    // Assess
    expect(clean).toEqual({
      verdict: 'skip',
      reason: 'not-suspicious',
      signals: [
        { name: 'dns-error', zone: 'bl.test', error: 'timeout' },
        { name: 'dns-error', zone: 'wl.test', error: 'failed' },
      ],
      score: 0,
    });
    expect(dynamic.verdict).toBe('greylist');
  });

  it('behaves like s25r mode with the default weights and no lists', () => {
    for (const name of ['mail.example.net', 'unknown', 'p1234-ipad56.example.ne.jp', 'a8-12.smtp-out.amazonses.com']) {
      const a = selectiveDecision({ settings: settings({ mode: 's25r' }), s25r: s25r(name), dnsLists: [] });
      const b = selectiveDecision({ settings: score, s25r: s25r(name), dnsLists: [] });
      expect(b.verdict, name).toBe(a.verdict);
    }
  });
});
