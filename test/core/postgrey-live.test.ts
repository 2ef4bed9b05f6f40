// Replays postgrey.md §9, the live test of Postgrey 1.37-2, through the core: parse, whitelists,
// decide, with the stored state threaded from one request to the next the way a store would.

import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decide, whitelistDecision } from '../../functions/core/decide.ts';
import { decisionKeys } from '../../functions/core/keys.ts';
import { formatLogLine } from '../../functions/core/log-line.ts';
import type { PolicyConfig } from '../../functions/core/policy-config.ts';
import { parsePolicyRequest } from '../../functions/core/policy-request.ts';
import type { ClientRecord, Decision, DecisionState, TripletRecord } from '../../functions/core/types.ts';
import { buildWhitelists } from '../../functions/core/whitelist.ts';
import type { Whitelists } from '../../functions/core/whitelist.ts';
import { LIVE_TEST_TIME, greygateConfig, postfixAttributes, postgreyConfig } from './fixtures.ts';

const sha1 = (clear: string) => createHash('sha1').update(clear).digest('hex');

/** A policy server in miniature: a Map for the store, the reply framed as Postfix reads it. */
class LiveServer {
  readonly records = new Map<string, TripletRecord | ClientRecord>();
  readonly log: string[] = [];

  private readonly config: PolicyConfig;
  private readonly whitelists: Whitelists;
  private readonly hashKey: ((clear: string) => string) | undefined;

  constructor(config: PolicyConfig, whitelists: Whitelists, hashKey?: (clear: string) => string) {
    this.config = config;
    this.whitelists = whitelists;
    this.hashKey = hashKey;
  }

  private live<T extends { expiresAt: number }>(key: string | null, now: number): T | null {
    if (key === null) return null;
    const record = this.records.get(key) as T | undefined;
    return record !== undefined && record.expiresAt > now ? record : null;
  }

  /** `now` is the real clock, as in §9 (no policy_test_time). */
  send(overrides: Record<string, string | undefined>, now: number): string {
    const parsed = parsePolicyRequest(postfixAttributes(overrides));
    if (!parsed.ok) {
      this.log.push(`WARNING: ${parsed.message}`);
      return 'action=DUNNO\n\n';
    }
    const request = parsed.request;
    let decision: Decision | null = whitelistDecision(request, this.whitelists);
    if (decision === null) {
      const keys = decisionKeys(request, this.config, this.hashKey);
      const state: DecisionState = {
        triplet: this.live<TripletRecord>(keys.triplet, now),
        client: this.live<ClientRecord>(keys.client, now),
      };
      decision = decide(request, state, { config: this.config, now, realNow: now });
      if (decision.writes.triplet) this.records.set(keys.triplet, decision.writes.triplet);
      if (decision.writes.client && keys.client !== null) this.records.set(keys.client, decision.writes.client);
    }
    this.log.push(formatLogLine(request, decision));
    return `action=${decision.action}\n\n`;
  }
}

const whitelists = buildWhitelists({
  clients: [],
  recipients: [{ source: 'postgrey_whitelist_recipients', text: 'postmaster@\nabuse@\n' }],
}).whitelists;

// The first pass of §9 happened at 02:18:40 UTC, 3 s after the first attempt.
const T = LIVE_TEST_TIME - 3;
const POSTGREY_DEFER = 'action=DEFER_IF_PERMIT 4.2.0 Greylisted, see http://postgrey.schweikert.ch/help/example.org.html\n\n';
const CLIENT = 'client_name=mail.example.net, client_address=192.0.2.10';

describe('§9 live test, first instance (--delay=2), Postgrey defaults', () => {
  it('answers every request byte for byte as Postgrey 1.37 did', () => {
    // Prepare
    const server = new LiveServer(postgreyConfig({ delaySeconds: 2 }), whitelists);
    const other = { recipient: 'carol@example.org' };
    // Act
    const replies = {
      r1: server.send({}, T),
      r2: server.send({}, T),
      r2bFirst: server.send(other, T),
      r2b: server.send(other, T + 1),
      r3: server.send({}, T + 3),
      r3b: server.send({}, T + 4),
      r4: server.send({ client_address: '192.0.2.77' }, T + 5),
      r4b: server.send({ client_address: '198.51.100.5' }, T + 5),
      r5: server.send({ recipient: 'postmaster@example.org' }, T + 6),
      r6: server.send({ protocol_state: 'DATA', recipient: 'dave@example.org' }, T + 6),
      r7: server.send({ etrn_domain: undefined, recipient: 'erin@example.org' }, T + 6),
      r8: server.send({ sender: undefined }, T + 7),
    };
    // Assess
    expect(replies).toEqual({
      r1: POSTGREY_DEFER,
      r2: POSTGREY_DEFER,
      r2bFirst: POSTGREY_DEFER,
      r2b: POSTGREY_DEFER,
      r3: 'action=PREPEND X-Greylist: delayed 3 seconds by postgrey-1.37 at vm; Sat, 28 Nov 2026 02:18:40 UTC\n\n',
      r3b: 'action=DUNNO\n\n',
      r4: 'action=DUNNO\n\n',
      r4b: POSTGREY_DEFER,
      r5: 'action=DUNNO\n\n',
      r6: POSTGREY_DEFER,
      r7: 'action=DEFER_IF_PERMIT Greylisted, see http://postgrey.schweikert.ch/help/example.org.html\n\n',
      r8: 'action=DUNNO\n\n',
    });
    expect(server.log).toEqual([
      `action=greylist, reason=new, ${CLIENT}, sender=alice@example.net, recipient=bob@example.org`,
      `action=greylist, reason=new, ${CLIENT}, sender=alice@example.net, recipient=bob@example.org`,
      `action=greylist, reason=new, ${CLIENT}, sender=alice@example.net, recipient=carol@example.org`,
      `action=greylist, reason=early-retry (1s missing), ${CLIENT}, sender=alice@example.net, recipient=carol@example.org`,
      `action=pass, reason=triplet found, delay=3, ${CLIENT}, sender=alice@example.net, recipient=bob@example.org`,
      `action=pass, reason=triplet found, ${CLIENT}, sender=alice@example.net, recipient=bob@example.org`,
      'action=pass, reason=triplet found, client_name=mail.example.net, client_address=192.0.2.77, sender=alice@example.net, recipient=bob@example.org',
      'action=greylist, reason=new, client_name=mail.example.net, client_address=198.51.100.5, sender=alice@example.net, recipient=bob@example.org',
      `action=pass, reason=recipient whitelist, ${CLIENT}, sender=alice@example.net, recipient=postmaster@example.org`,
      `action=greylist, reason=new, ${CLIENT}, sender=alice@example.net, recipient=dave@example.org`,
      `action=greylist, reason=new, ${CLIENT}, sender=alice@example.net, recipient=erin@example.org`,
      'WARNING: attribute missing: sender',
    ]);
    expect(server.records.get('192.0.2.0/alice@example.net/bob@example.org')).toEqual({
      firstSeen: T,
      lastSeen: T + 5,
      expiresAt: T + 5 + 35 * 86_400 + 1,
    });
  });
});

describe('§9 live test, first instance, greygate defaults', () => {
  it('answers with greygate\'s own text and header', () => {
    // Prepare
    const config = greygateConfig({ delaySeconds: 2, hostname: 'vm', timeZone: 'UTC' });
    const server = new LiveServer(config, whitelists);
    // Act
    const first = server.send({}, T);
    const pass = server.send({}, T + 3);
    const later = server.send({}, T + 4);
    // Assess
    expect(first).toBe('action=DEFER_IF_PERMIT 4.2.0 Greylisted, please retry in 2 seconds\n\n');
    expect(pass).toBe(
      `action=PREPEND X-Greylist: delayed 3 seconds by greygate-${config.version} at vm; Sat, 28 Nov 2026 02:18:40 UTC\n\n`,
    );
    expect(later).toBe('action=DUNNO\n\n');
  });
});

describe('§9 live test, second instance', () => {
  it('uses the custom action, texts and privacy keys by host, replacing every placeholder', () => {
    // Prepare: --privacy --lookup-by-host --auto-whitelist-clients=0 --retry-window=1h
    // --greylist-action=451 --greylist-text='Wait %s more seconds (%s), domain %r'
    // --x-greylist-header='X-Test: t=%t v=%v h=%h d=%d' --hostname=mx.test
    const config = postgreyConfig({
      delaySeconds: 2,
      lookupByHost: true,
      autoWhitelistClients: 0,
      retryWindowSeconds: 3600,
      greylistAction: '451',
      greylistText: 'Wait %s more seconds (%s), domain %r',
      xGreylistHeader: 'X-Test: t=%t v=%v h=%h d=%d',
      hostname: 'mx.test',
    });
    const server = new LiveServer(config, whitelists, sha1);
    const firstAt = Date.UTC(2026, 10, 28, 2, 19, 19) / 1000;
    // Act
    const greylisted = server.send({}, firstAt);
    const passed = server.send({}, firstAt + 3);
    // Assess: Postgrey left the second %s literal; greygate replaces it
    expect(greylisted).toBe('action=451 4.2.0 Wait 2 more seconds (2), domain example.org\n\n');
    expect(passed).toBe('action=PREPEND X-Test: t=3 v=1.37 h=mx.test d=Sat, 28 Nov 2026 02:19:22 UTC\n\n');
    expect([...server.records.keys()]).toEqual([sha1('192.0.2.10/32/alice@example.net/bob@example.org')]);
  });
});
