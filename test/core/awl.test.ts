import { describe, expect, it } from 'vitest';
import { decide } from '../../functions/core/decide.ts';
import { decisionKeys } from '../../functions/core/keys.ts';
import type { ClientRecord, DecisionState, TripletRecord } from '../../functions/core/types.ts';
import { greygateConfig, postfixRequest } from './fixtures.ts';

const T0 = 1_795_832_317;
const HOUR = 3_600;
const DAY = 86_400;
const MAX_AGE = 35 * DAY;
const config = greygateConfig({ delaySeconds: 300, autoWhitelistClients: 5, maxAgeDays: 35 });

const waited: TripletRecord = { firstSeen: T0, lastSeen: T0, expiresAt: T0 + 2 * DAY };
const firstPassAt = T0 + 300;

function client(count: number, lastSeen: number): ClientRecord {
  return { count, lastSeen, expiresAt: lastSeen + MAX_AGE };
}

describe('auto-whitelist: step 10, counting', () => {
  it('counts a triplet\'s first pass for a client never seen', () => {
    // Prepare
    const state: DecisionState = { triplet: waited, client: null };
    // Act
    const decision = decide(postfixRequest(), state, { config, now: firstPassAt, realNow: firstPassAt });
    // Assess
    expect(decision.writes.client).toEqual({ count: 1, lastSeen: firstPassAt, expiresAt: firstPassAt + MAX_AGE + 1 });
  });

  it.each([
    ['59:59 after the last count: not counted', HOUR - 1, undefined],
    ['an hour after the last count: counted', HOUR, 3],
  ])('%s', (_what, sinceLastCount, expectedCount) => {
    // Prepare
    const state: DecisionState = { triplet: waited, client: client(2, firstPassAt - sinceLastCount) };
    // Act
    const decision = decide(postfixRequest(), state, { config, now: firstPassAt, realNow: firstPassAt });
    // Assess
    expect(decision.writes.client?.count).toBe(expectedCount);
  });

  it('does not count a greylisted attempt', () => {
    // Prepare
    const state: DecisionState = { triplet: null, client: client(2, T0 - DAY) };
    // Act
    const decision = decide(postfixRequest(), state, { config, now: T0, realNow: T0 });
    // Assess
    expect(decision.verdict).toBe('greylist');
    expect(decision.writes.client).toBeUndefined();
  });

  it('does not count later passes of an already passed triplet', () => {
    // Prepare
    const passed: TripletRecord = { firstSeen: T0, lastSeen: T0 + 400, expiresAt: T0 + 400 + MAX_AGE };
    const state: DecisionState = { triplet: passed, client: client(2, T0 - DAY) };
    // Act
    const decision = decide(postfixRequest(), state, { config, now: T0 + DAY, realNow: T0 + DAY });
    // Assess
    expect(decision.action).toBe('DUNNO');
    expect(decision.writes.client).toBeUndefined();
  });

  it('does not count while the stored last count lies in the future', () => {
    // Prepare
    const state: DecisionState = { triplet: waited, client: client(2, firstPassAt + HOUR) };
    // Act
    const decision = decide(postfixRequest(), state, { config, now: firstPassAt, realNow: firstPassAt });
    // Assess
    expect(decision.writes.client).toBeUndefined();
  });

  it('reports the client as whitelisted when the count reaches the threshold, and only then', () => {
    // Prepare
    const reaching: DecisionState = { triplet: waited, client: client(4, T0 - DAY) };
    const below: DecisionState = { triplet: waited, client: client(3, T0 - DAY) };
    // Act
    const a = decide(postfixRequest(), reaching, { config, now: firstPassAt, realNow: firstPassAt });
    const b = decide(postfixRequest(), below, { config, now: firstPassAt, realNow: firstPassAt });
    // Assess
    expect(a.events).toEqual([{ kind: 'client-whitelisted', count: 5 }]);
    expect(b.events).toEqual([]);
  });

  it('starts again from 1 when the client record is older than max-age', () => {
    // Prepare
    const state: DecisionState = { triplet: waited, client: client(4, firstPassAt - MAX_AGE - 1) };
    // Act
    const decision = decide(postfixRequest(), state, { config, now: firstPassAt, realNow: firstPassAt });
    // Assess
    expect(decision.writes.client?.count).toBe(1);
  });

  it('neither reads nor writes client records with --auto-whitelist-clients=0', () => {
    // Prepare
    const off = { ...config, autoWhitelistClients: 0 };
    const state: DecisionState = { triplet: waited, client: client(10, T0 - DAY) };
    // Act
    const decision = decide(postfixRequest(), state, { config: off, now: firstPassAt, realNow: firstPassAt });
    // Assess
    expect(decision.reason).toBe('triplet-found');
    expect(decision.writes.client).toBeUndefined();
  });
});

describe('auto-whitelist: step 6, whitelisted clients', () => {
  it('passes a client at the threshold with DUNNO before any triplet work', () => {
    // Prepare
    const state: DecisionState = { triplet: null, client: client(5, T0 - 10) };
    // Act
    const decision = decide(postfixRequest(), state, { config, now: T0, realNow: T0 });
    // Assess
    expect(decision).toEqual({ verdict: 'pass', reason: 'client-awl', action: 'DUNNO', writes: {}, events: [] });
  });

  it.each([
    ['an hour after the last refresh', T0 - HOUR, true],
    ['less than an hour after', T0 - HOUR + 1, false],
    ['with the last refresh in the future', T0 + 60, true],
  ])('refreshes the statistics %s: %s', (_what, lastSeen, refreshed) => {
    // Prepare
    const state: DecisionState = { triplet: null, client: client(7, lastSeen) };
    // Act
    const decision = decide(postfixRequest(), state, { config, now: T0, realNow: T0 });
    // Assess
    expect(decision.reason).toBe('client-awl');
    expect(decision.writes.client).toEqual(refreshed ? { count: 8, lastSeen: T0, expiresAt: T0 + MAX_AGE + 1 } : undefined);
    expect(decision.writes.triplet).toBeUndefined();
  });

  it('forgets a whitelisted client not seen for max-age', () => {
    // Prepare
    const state: DecisionState = { triplet: null, client: client(50, T0 - MAX_AGE - 1) };
    // Act
    const decision = decide(postfixRequest(), state, { config, now: T0, realNow: T0 });
    // Assess
    expect(decision).toMatchObject({ verdict: 'greylist', reason: 'new' });
  });

  it('replays §3\'s observation: five counted passes two hours apart, then client AWL with count 6', () => {
    // Prepare: one client, five different triplets, each retried after the delay
    const awlConfig = { ...config, delaySeconds: 2 };
    const records = new Map<string, TripletRecord | ClientRecord>();
    const lines: string[] = [];
    const run = (recipient: string, now: number) => {
      const request = postfixRequest({ client_name: 'awl.example.com', client_address: '203.0.113.50', recipient });
      const keys = decisionKeys(request, awlConfig);
      const state: DecisionState = {
        triplet: (records.get(keys.triplet) as TripletRecord | undefined) ?? null,
        client: keys.client === null ? null : ((records.get(keys.client) as ClientRecord | undefined) ?? null),
      };
      const decision = decide(request, state, { config: awlConfig, now, realNow: now });
      if (decision.writes.triplet) records.set(keys.triplet, decision.writes.triplet);
      if (decision.writes.client && keys.client !== null) records.set(keys.client, decision.writes.client);
      for (const event of decision.events) lines.push(`${event.kind} at pass ${recipient}`);
      return decision;
    };
    // Act
    for (let i = 1; i <= 5; i += 1) {
      const start = T0 + (i - 1) * 2 * HOUR;
      run(`user${i}@example.org`, start);
      run(`user${i}@example.org`, start + 3);
    }
    const after = run('user6@example.org', T0 + 10 * HOUR);
    // Assess
    expect(lines).toEqual(['client-whitelisted at pass user5@example.org']);
    expect(after).toMatchObject({ verdict: 'pass', reason: 'client-awl', action: 'DUNNO' });
    expect(records.get('203.0.113.50')).toMatchObject({ count: 6, lastSeen: T0 + 10 * HOUR });
    expect([...records.keys()].some((key) => key.endsWith('/user6@example.org'))).toBe(false);
  });
});
