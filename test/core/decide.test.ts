import { describe, expect, it } from 'vitest';
import { decide } from '../../functions/core/decide.ts';
import { recordLifetimes } from '../../functions/core/record-lifetime.ts';
import type { DecisionState } from '../../functions/core/types.ts';
import { LIVE_TEST_TIME, greygateConfig, postfixRequest } from './fixtures.ts';

const T0 = 1_795_832_317;
const DAY = 86_400;
const config = greygateConfig({ delaySeconds: 300, retryWindowSeconds: 2 * DAY, maxAgeDays: 35, autoWhitelistClients: 5 });
const MAX_AGE = 35 * DAY;
const none: DecisionState = { triplet: null, client: null };

function stateWith(firstSeen: number, lastSeen: number): DecisionState {
  return { triplet: { firstSeen, lastSeen, expiresAt: lastSeen + MAX_AGE }, client: null };
}

describe('decide: step 7, triplet lookup', () => {
  it('greylists an unknown triplet as new, for the whole delay', () => {
    // Prepare
    const request = postfixRequest();
    // Act
    const decision = decide(request, none, { config, now: T0, realNow: T0 });
    // Assess
    expect(decision).toMatchObject({ verdict: 'greylist', reason: 'new', retryAfterSeconds: 300 });
    expect(decision.action).toBe('DEFER_IF_PERMIT 4.2.0 Greylisted, please retry in 300 seconds');
    expect(decision.writes.triplet).toEqual({ firstSeen: T0, lastSeen: T0, expiresAt: T0 + 2 * DAY + 1 });
  });

  it('logs a retry in the same second as new, later ones as early-retry with the seconds missing', () => {
    // Prepare
    const request = postfixRequest();
    // Act
    const sameSecond = decide(request, stateWith(T0, T0), { config, now: T0, realNow: T0 });
    const later = decide(request, stateWith(T0, T0), { config, now: T0 + 120, realNow: T0 + 120 });
    // Assess
    expect(sameSecond).toMatchObject({ verdict: 'greylist', reason: 'new', retryAfterSeconds: 300 });
    expect(later).toMatchObject({ verdict: 'greylist', reason: 'early-retry', retryAfterSeconds: 180 });
  });

  it('restarts the delay when the first retry comes after the retry window', () => {
    // Prepare
    const request = postfixRequest();
    const now = T0 + 2 * DAY + 1;
    // Act
    const decision = decide(request, stateWith(T0, T0), { config, now, realNow: now });
    // Assess
    expect(decision).toMatchObject({ verdict: 'greylist', reason: 'new', retryAfterSeconds: 300 });
    expect(decision.writes.triplet).toMatchObject({ firstSeen: now, lastSeen: now });
  });

  it('still lets the triplet pass at exactly the end of the retry window', () => {
    // Prepare
    const request = postfixRequest();
    const now = T0 + 2 * DAY;
    // Act
    const decision = decide(request, stateWith(T0, T0), { config, now, realNow: now });
    // Assess
    expect(decision).toMatchObject({ verdict: 'pass', reason: 'triplet-found', delayedSeconds: 2 * DAY });
  });

  it('corrects a first-seen time in the future and reports it', () => {
    // Prepare: the clock went back by an hour since the record was written
    const request = postfixRequest();
    const state = stateWith(T0 + 3600, T0 + 3600);
    // Act
    const decision = decide(request, state, { config, now: T0, realNow: T0 });
    // Assess
    expect(decision.events).toEqual([{ kind: 'corrected-future-first-seen' }]);
    expect(decision).toMatchObject({ verdict: 'greylist', reason: 'new', retryAfterSeconds: 300 });
    expect(decision.writes.triplet).toMatchObject({ firstSeen: T0, lastSeen: T0 });
  });

  it('greylists again a passed triplet whose first-seen lies in the future, as Postgrey did', () => {
    // Prepare: a passed record written by a clock an hour ahead
    const request = postfixRequest();
    const state = stateWith(T0 + 3600, T0 + 3600 + 400);
    // Act
    const decision = decide(request, state, { config, now: T0, realNow: T0 });
    // Assess: first is corrected to now, so the full delay applies again
    expect(decision).toMatchObject({ verdict: 'greylist', reason: 'new', retryAfterSeconds: 300 });
    expect(decision.events).toEqual([{ kind: 'corrected-future-first-seen' }]);
    expect(decision.writes.triplet).toEqual({ firstSeen: T0, lastSeen: T0, expiresAt: T0 + 2 * DAY + 1 });
  });

  it('ignores protocol_state: a DATA-stage request is greylisted like an RCPT one', () => {
    // Prepare
    const rcpt = postfixRequest({ protocol_state: 'RCPT' });
    const data = postfixRequest({ protocol_state: 'DATA' });
    // Act
    const a = decide(rcpt, none, { config, now: T0, realNow: T0 });
    const b = decide(data, none, { config, now: T0, realNow: T0 });
    // Assess
    expect(b).toEqual(a);
  });
});

describe('decide: step 8, always write', () => {
  it('moves last_seen on a greylisted retry and keeps first_seen', () => {
    // Prepare
    const request = postfixRequest();
    // Act
    const decision = decide(request, stateWith(T0, T0 + 60), { config, now: T0 + 200, realNow: T0 + 200 });
    // Assess
    expect(decision.writes.triplet).toEqual({ firstSeen: T0, lastSeen: T0 + 200, expiresAt: T0 + 200 + 2 * DAY + 1 });
  });

  it('keeps a passed triplet for max-age after it was last seen', () => {
    // Prepare
    const request = postfixRequest();
    const now = T0 + 10 * DAY;
    // Act
    const decision = decide(request, stateWith(T0, T0 + 400), { config, now, realNow: now });
    // Assess: the retry window no longer applies once passed
    expect(decision.action).toBe('DUNNO');
    expect(decision.writes.triplet).toEqual({ firstSeen: T0, lastSeen: now, expiresAt: now + MAX_AGE + 1 });
  });

  it('gives every record the lifetime recordLifetimes tells a store that writes ahead of it', () => {
    // Prepare
    const request = postfixRequest();
    const lifetimes = recordLifetimes(config);
    const lifetime = (record: { lastSeen: number; expiresAt: number } | undefined) => (record ? record.expiresAt - record.lastSeen : NaN);
    // Act
    const fresh = decide(request, none, { config, now: T0, realNow: T0 });
    const early = decide(request, stateWith(T0, T0), { config, now: T0 + 60, realNow: T0 + 60 });
    const firstPass = decide(request, stateWith(T0, T0), { config, now: T0 + 400, realNow: T0 + 400 });
    const passed = decide(request, stateWith(T0, T0 + 400), { config, now: T0 + DAY, realNow: T0 + DAY });
    // Assess
    expect(lifetimes).toEqual({ waitingTriplet: 2 * DAY + 1, passedTriplet: MAX_AGE + 1, client: MAX_AGE + 1 });
    expect([fresh, early].map((d) => lifetime(d.writes.triplet))).toEqual([lifetimes.waitingTriplet, lifetimes.waitingTriplet]);
    expect([firstPass, passed].map((d) => lifetime(d.writes.triplet))).toEqual([lifetimes.passedTriplet, lifetimes.passedTriplet]);
    expect(lifetime(firstPass.writes.client)).toBe(lifetimes.client);
  });
});

describe('decide: max-age enforced at lookup (Postgrey only purged nightly)', () => {
  it('treats a passed triplet last seen more than max-age ago as absent, even if the store still returns it', () => {
    // Prepare
    const request = postfixRequest();
    const now = T0 + 400 + MAX_AGE + 1;
    // Act
    const decision = decide(request, stateWith(T0, T0 + 400), { config, now, realNow: now });
    // Assess
    expect(decision).toMatchObject({ verdict: 'greylist', reason: 'new' });
  });

  it('still honours a passed triplet last seen exactly max-age ago, as Postgrey purged only past it', () => {
    // Prepare
    const request = postfixRequest();
    const now = T0 + 400 + MAX_AGE;
    // Act
    const decision = decide(request, stateWith(T0, T0 + 400), { config, now, realNow: now });
    // Assess
    expect(decision).toMatchObject({ verdict: 'pass', reason: 'triplet-found', action: 'DUNNO' });
  });
});

describe('decide: steps 9 and 11, greylist reply', () => {
  it.each([
    ['etrn_domain present (even empty): 4.2.0 prefix', { etrn_domain: '' }, {}, 'DEFER_IF_PERMIT 4.2.0 Greylisted, please retry in 300 seconds'],
    ['no etrn_domain: no prefix', { etrn_domain: undefined }, {}, 'DEFER_IF_PERMIT Greylisted, please retry in 300 seconds'],
    ['a text starting with a digit gets no prefix', {}, { greylistText: '4.7.1 Try again in %s s' }, 'DEFER_IF_PERMIT 4.7.1 Try again in 300 s'],
    ['the action word is configurable', { etrn_domain: undefined }, { greylistAction: '451', greylistText: 'later' }, '451 later'],
    ['every %s and %r is replaced', {}, { greylistText: 'Wait %s more seconds (%s), domain %r or %r' }, 'DEFER_IF_PERMIT 4.2.0 Wait 300 more seconds (300), domain example.org or example.org'],
    ['%r is the text after the last @', { recipient: '"a@b"@Sub.Example.org' }, { greylistText: 'see %r' }, 'DEFER_IF_PERMIT 4.2.0 see Sub.Example.org'],
    ['a substituted value is not scanned again', { recipient: 'x@%s.example' }, { greylistText: '%r %s' }, 'DEFER_IF_PERMIT 4.2.0 %s.example 300'],
    ['other placeholders stay literal', {}, { greylistText: '%t %d %x 100%' }, 'DEFER_IF_PERMIT 4.2.0 %t %d %x 100%'],
  ])('%s', (_what, overrides, configOverrides, action) => {
    // Prepare
    const request = postfixRequest(overrides);
    // Act
    const decision = decide(request, none, { config: { ...config, ...configOverrides }, now: T0, realNow: T0 });
    // Assess
    expect(decision.action).toBe(action);
  });
});

describe('decide: step 12, pass', () => {
  it('prepends the header on the first pass, with the delay and the real date', () => {
    // Prepare: policy_test_time moved `now`; %d still uses the real clock
    const request = postfixRequest();
    const now = T0 + 301;
    // Act
    const decision = decide(request, stateWith(T0, T0), { config, now, realNow: LIVE_TEST_TIME });
    // Assess
    const header = `X-Greylist: delayed 301 seconds by greygate-${config.version} at ${config.hostname}; Sat, 28 Nov 2026 02:18:40 UTC`;
    expect(decision).toEqual({
      verdict: 'pass',
      reason: 'triplet-found',
      action: `PREPEND ${header}`,
      header,
      delayedSeconds: 301,
      writes: {
        triplet: { firstSeen: T0, lastSeen: now, expiresAt: now + MAX_AGE + 1 },
        client: { count: 1, lastSeen: now, expiresAt: now + MAX_AGE + 1 },
      },
      events: [],
    });
  });

  it('replaces every header placeholder occurrence', () => {
    // Prepare
    const request = postfixRequest();
    const custom = { ...config, xGreylistHeader: 'X-Test: %t/%t %v %h %h %d', version: '1.37', hostname: 'mx.test' };
    // Act
    const decision = decide(request, stateWith(T0, T0), { config: custom, now: T0 + 300, realNow: LIVE_TEST_TIME });
    // Assess
    expect(decision.header).toBe('X-Test: 300/300 1.37 mx.test mx.test Sat, 28 Nov 2026 02:18:40 UTC');
  });

  it('answers DUNNO without a header once the triplet has passed', () => {
    // Prepare
    const request = postfixRequest();
    // Act
    const decision = decide(request, stateWith(T0, T0 + 301), { config, now: T0 + 900, realNow: T0 + 900 });
    // Assess
    expect(decision).toMatchObject({ verdict: 'pass', reason: 'triplet-found', action: 'DUNNO' });
    expect(decision.header).toBeUndefined();
    expect(decision.delayedSeconds).toBeUndefined();
  });

  it('returns the header whatever the instance: de-duplication is the listener\'s job', () => {
    // Prepare: two recipients of one message share an instance id
    const first = postfixRequest({ instance: 'same.instance', recipient: 'bob@example.org' });
    const second = postfixRequest({ instance: 'same.instance', recipient: 'carol@example.org' });
    // Act
    const a = decide(first, stateWith(T0, T0), { config, now: T0 + 300, realNow: T0 + 300 });
    const b = decide(second, stateWith(T0, T0), { config, now: T0 + 300, realNow: T0 + 300 });
    // Assess
    expect(a.header).toBeDefined();
    expect(b.header).toBe(a.header);
  });

  it('passes at once with delay 0', () => {
    // Prepare
    const request = postfixRequest();
    // Act
    const decision = decide(request, none, { config: { ...config, delaySeconds: 0 }, now: T0, realNow: T0 });
    // Assess
    expect(decision).toMatchObject({ verdict: 'pass', reason: 'triplet-found', delayedSeconds: 0 });
  });
});
