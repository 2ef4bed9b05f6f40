// DNS block- and allow-list lookups against a real DNS server on loopback, serving test zones:
// what an admin relies on is that a listing is seen, that a broken or silent resolver costs at most
// the timeout and counts as nothing, and that repeated clients are answered from the cache.

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createDnsListChecker, DnsListConfigError, reversedAddressName, type DnsListCheckerOptions } from '../../functions/selective/dns-lists.ts';
import { startDnsServer, type TestDnsServer } from '../support/dns-server.ts';

let dns: TestDnsServer;
let nowMs = 1_795_832_317_000;
const clock = (): number => nowMs;

beforeEach(async () => {
  dns = await startDnsServer();
});
afterEach(async () => {
  await dns.close();
});

function checker(overrides: Partial<DnsListCheckerOptions> = {}) {
  return createDnsListChecker({
    zones: [{ kind: 'dnsbl', zone: 'bl.test', weight: 1 }],
    timeoutMs: 300,
    servers: [dns.address],
    clock,
    ...overrides,
  });
}

describe('DNS list query names', () => {
  it('reverses IPv4 octets and IPv6 nibbles (RFC 5782), and looks up IPv4-mapped addresses as IPv4', () => {
    expect(reversedAddressName('192.0.2.10')).toBe('10.2.0.192');
    expect(reversedAddressName('2001:db8::1')).toBe('1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2');
    expect(reversedAddressName('::ffff:192.0.2.10')).toBe('10.2.0.192');
    expect(reversedAddressName('mail.example')).toBeNull();
  });
});

describe('DNS list lookups', () => {
  it('reports a client listed with an A record in 127.0.0.0/8, and one not listed on NXDOMAIN', async () => {
    // Prepare
    dns.answer('10.2.0.192.bl.test', { a: ['127.0.0.2'], ttl: 60 });
    const lists = checker();

    // Act
    const listed = await lists.check('192.0.2.10');
    const clean = await lists.check('192.0.2.11');

    // Assess
    expect(listed).toEqual([{ kind: 'dnsbl', zone: 'bl.test', weight: 1, listed: true }]);
    expect(clean).toEqual([{ kind: 'dnsbl', zone: 'bl.test', weight: 1, listed: false }]);
    expect(dns.queryCount('11.2.0.192.bl.test')).toBe(1);
  });

  it('queries an IPv6 client by its reversed nibbles', async () => {
    // Prepare
    dns.answer(`${reversedAddressName('2001:db8::1')}.bl.test`, { a: ['127.0.0.4'], ttl: 60 });

    // Act
    const result = await checker().check('2001:db8::1');

    // Assess
    expect(result[0]?.listed).toBe(true);
  });

  it('queries every zone and keeps the configured order, allow-lists included', async () => {
    // Prepare
    dns.answer('10.2.0.192.wl.test', { a: ['127.0.10.2'], ttl: 60 });
    const lists = checker({
      zones: [
        { kind: 'dnsbl', zone: 'bl.test', weight: 2 },
        { kind: 'dnswl', zone: 'wl.test', weight: 10 },
      ],
    });

    // Act
    const results = await lists.check('192.0.2.10');

    // Assess
    expect(results).toEqual([
      { kind: 'dnsbl', zone: 'bl.test', weight: 2, listed: false },
      { kind: 'dnswl', zone: 'wl.test', weight: 10, listed: true },
    ]);
  });

  it.each([
    ['SERVFAIL', { rcode: 'servfail' } as const, 'servfail'],
    ['REFUSED', { rcode: 'refused' } as const, 'refused'],
    ["Spamhaus's 'query through a public resolver' code", { a: ['127.255.255.254'], ttl: 60 }, 'refused-by-list'],
    ["dnswl.org's quota code", { a: ['127.0.0.255'], ttl: 60 }, 'refused-by-list'],
    ['an address outside 127/8 (a resolver rewriting NXDOMAIN)', { a: ['198.51.100.80'], ttl: 60 }, 'unexpected-answer'],
  ])('turns %s into an error, not a listing', async (_what, answer, error) => {
    // Prepare
    dns.answer('10.2.0.192.bl.test', answer);

    // Act
    const [result] = await checker().check('192.0.2.10');

    // Assess
    expect(result).toMatchObject({ listed: 'error', error });
  });

  it('answers within the timeout when a list never replies, with the other lists still counted', async () => {
    // Prepare
    dns.answer('10.2.0.192.silent.test', { drop: true });
    dns.answer('10.2.0.192.bl.test', { a: ['127.0.0.2'], ttl: 60 });
    const lists = checker({
      timeoutMs: 250,
      zones: [
        { kind: 'dnsbl', zone: 'silent.test', weight: 1 },
        { kind: 'dnsbl', zone: 'bl.test', weight: 1 },
      ],
    });

    // Act
    const started = performance.now();
    const results = await lists.check('192.0.2.10');
    const elapsedMs = performance.now() - started;

    // Assess: the deadline is a promise to the mail server, so it is checked (with slack for a busy machine)
    expect(results.map((r) => [r.zone, r.listed, r.error])).toEqual([
      ['silent.test', 'error', 'timeout'],
      ['bl.test', true, undefined],
    ]);
    expect(elapsedMs).toBeGreaterThanOrEqual(200);
    expect(elapsedMs).toBeLessThan(250 + 400);
  });

  it('keeps the deadline when the answer comes too late', async () => {
    // Prepare
    dns.answer('10.2.0.192.bl.test', { a: ['127.0.0.2'], ttl: 60, delayMs: 1500 });

    // Act
    const started = performance.now();
    const [result] = await checker({ timeoutMs: 200 }).check('192.0.2.10');
    const elapsedMs = performance.now() - started;

    // Assess
    expect(result).toMatchObject({ listed: 'error', error: 'timeout' });
    expect(elapsedMs).toBeLessThan(200 + 400);
  });

  it('refuses a DNS server that is not an address, at creation', () => {
    expect(() => checker({ servers: ['dns.example'] })).toThrow(DnsListConfigError);
    expect(() => checker({ servers: ['dns.example'] })).toThrow(/expected IP or IP:PORT/);
  });
});

describe('DNS list cache', () => {
  it('answers a listed client from the cache within the TTL, and asks again after it', async () => {
    // Prepare
    dns.answer('10.2.0.192.bl.test', { a: ['127.0.0.2'], ttl: 60 });
    const lists = checker();

    // Act
    await lists.check('192.0.2.10');
    nowMs += 59_000;
    const cached = await lists.check('192.0.2.10');
    const queriesWithinTtl = dns.queryCount('10.2.0.192.bl.test');
    nowMs += 2_000;
    const fresh = await lists.check('192.0.2.10');

    // Assess
    expect(cached[0]?.listed).toBe(true);
    expect(fresh[0]?.listed).toBe(true);
    expect(queriesWithinTtl).toBe(1);
    expect(dns.queryCount('10.2.0.192.bl.test')).toBe(2);
  });

  it('caches "not listed" for the fixed negative TTL', async () => {
    // Prepare
    const lists = checker({ negativeTtlSeconds: 30 });

    // Act
    await lists.check('192.0.2.10');
    nowMs += 29_000;
    await lists.check('192.0.2.10');
    const withinTtl = dns.queryCount('10.2.0.192.bl.test');
    nowMs += 2_000;
    await lists.check('192.0.2.10');

    // Assess
    expect(withinTtl).toBe(1);
    expect(dns.queryCount('10.2.0.192.bl.test')).toBe(2);
  });

  it('does not cache errors or a zero TTL', async () => {
    // Prepare
    dns.answer('10.2.0.192.bl.test', { rcode: 'servfail' });
    dns.answer('11.2.0.192.bl.test', { a: ['127.0.0.2'], ttl: 0 });
    const lists = checker();

    // Act
    for (let i = 0; i < 2; i++) {
      await lists.check('192.0.2.10');
      await lists.check('192.0.2.11');
    }

    // Assess
    expect(dns.queryCount('10.2.0.192.bl.test')).toBe(2);
    expect(dns.queryCount('11.2.0.192.bl.test')).toBe(2);
  });

  it('keeps at most cacheSize names, dropping the oldest', async () => {
    // Prepare
    const lists = checker({ cacheSize: 2 });

    // Act: .1 and .2 fill the cache, .1 is used again (young), .3 pushes out .2
    for (const last of [1, 2, 1, 3, 1, 2]) await lists.check(`192.0.2.${last}`);

    // Assess
    expect(dns.queryCount('1.2.0.192.bl.test')).toBe(1);
    expect(dns.queryCount('2.2.0.192.bl.test')).toBe(2);
    expect(dns.queryCount('3.2.0.192.bl.test')).toBe(1);
  });
});
