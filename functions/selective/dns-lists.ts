// DNS block- and allow-list lookups for `--selective score`: one A query per configured zone,
// all in parallel, under one deadline. A slow or failing resolver costs at most `timeoutMs` and
// yields `listed: 'error'`, which the policy counts as nothing, so DNS trouble never defers mail.
//
//   client 192.0.2.10, zone bl.example  →  10.2.0.192.bl.example   A?
//   client 2001:db8::1                  →  1.0.0.0.…(32 nibbles, reversed)….8.b.d.0.1.0.0.2.bl.example
//
// Answers are cached per query name: listings for their TTL (at most a day), "not listed"
// (NXDOMAIN, or no A record) for a fixed `negativeTtlSeconds` — the SOA minimum would be more exact
// but node:dns does not expose the authority section. Errors are not cached.

import { Resolver } from 'node:dns/promises';
import { parseIpAddress } from '../core/ip-address.ts';
import type { DnsListErrorCode, DnsListResult, DnsListZone } from './selective.ts';

export interface DnsListCheckerOptions {
  zones: readonly DnsListZone[];
  /** The whole check answers within this, whatever the resolver does. */
  timeoutMs: number;
  /** `IP` or `IP:PORT` (`[IPv6]:PORT`); default: the system resolvers (/etc/resolv.conf). */
  servers?: readonly string[];
  /** Milliseconds since the epoch; drives cache expiry only. */
  clock?: () => number;
  negativeTtlSeconds?: number;
  /** Cached query names at most; the oldest entry goes first. */
  cacheSize?: number;
}

export interface DnsListChecker {
  readonly zones: readonly DnsListZone[];
  /** One result per zone, in the configured order. Never rejects. */
  check(clientAddress: string): Promise<DnsListResult[]>;
}

export class DnsListConfigError extends Error {
  readonly code = 'dns-list-config';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'DnsListConfigError';
  }
}

const DEFAULT_NEGATIVE_TTL_SECONDS = 60;
const MAX_TTL_SECONDS = 86_400;
const DEFAULT_CACHE_SIZE = 10_000;

/**
 * The reversed-address part of a DNS-list query name: `4.3.2.1` for IPv4, 32 dot-separated
 * nibbles for IPv6 (RFC 5782). An IPv4-mapped IPv6 address is looked up as IPv4. Null if `address`
 * is not an IP address.
 */
export function reversedAddressName(address: string): string | null {
  const ip = parseIpAddress(address);
  if (ip === null) return null;
  if (ip.family === 4) {
    const v = ip.value;
    return `${v & 0xff}.${(v >>> 8) & 0xff}.${(v >>> 16) & 0xff}.${v >>> 24}`;
  }
  const hex = ip.parts.map((part) => part.toString(16).padStart(4, '0')).join('');
  return [...hex].reverse().join('.');
}

/**
 * The error codes lists answer with instead of a listing: Spamhaus uses 127.255.255.252-255
 * (bad query name, query through a public resolver, quota exceeded), dnswl.org 127.0.0.255
 * (quota exceeded). They say nothing about the client.
 */
function isListErrorCode(address: string): boolean {
  return address.startsWith('127.255.255.') || address === '127.0.0.255';
}

type Answer = { listed: boolean; ttlSeconds: number } | { error: DnsListErrorCode };

function judgeRecords(records: ReadonlyArray<{ address: string; ttl: number }>): Answer {
  const hits = records.filter((r) => r.address.startsWith('127.') && !isListErrorCode(r.address));
  if (hits.length > 0) return { listed: true, ttlSeconds: Math.min(...hits.map((r) => r.ttl)) };
  // Anything outside 127/8 is not a DNSBL answer: typically a resolver that rewrites NXDOMAIN.
  return { error: records.some((r) => isListErrorCode(r.address)) ? 'refused-by-list' : 'unexpected-answer' };
}

function judgeFailure(err: unknown, negativeTtlSeconds: number): Answer {
  switch ((err as NodeJS.ErrnoException).code) {
    case 'ENOTFOUND': // NXDOMAIN: not listed
    case 'ENODATA': // the name exists without an A record: not listed either
      return { listed: false, ttlSeconds: negativeTtlSeconds };
    case 'ETIMEOUT':
    case 'ECANCELLED': // cancelled by our own deadline
      return { error: 'timeout' };
    case 'ESERVFAIL':
      return { error: 'servfail' };
    case 'EREFUSED':
      return { error: 'refused' };
    default:
      return { error: 'failed' };
  }
}

/** A size-bounded map whose entries expire; a hit moves an entry to the young end. */
class TtlCache {
  readonly #entries = new Map<string, { listed: boolean; expiresAtMs: number }>();
  constructor(private readonly maxEntries: number) {}

  get(key: string, nowMs: number): boolean | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    this.#entries.delete(key);
    if (entry.expiresAtMs <= nowMs) return undefined;
    this.#entries.set(key, entry);
    return entry.listed;
  }

  set(key: string, listed: boolean, expiresAtMs: number): void {
    this.#entries.delete(key);
    if (this.#entries.size >= this.maxEntries) {
      const oldest = this.#entries.keys().next();
      if (!oldest.done) this.#entries.delete(oldest.value);
    }
    this.#entries.set(key, { listed, expiresAtMs });
  }
}

export function createDnsListChecker(options: DnsListCheckerOptions): DnsListChecker {
  const zones = Object.freeze(options.zones.map((z) => ({ ...z })));
  const { timeoutMs } = options;
  const clock = options.clock ?? Date.now;
  const negativeTtlSeconds = options.negativeTtlSeconds ?? DEFAULT_NEGATIVE_TTL_SECONDS;
  const cache = new TtlCache(options.cacheSize ?? DEFAULT_CACHE_SIZE);
  const servers = options.servers ? [...options.servers] : null;

  // A resolver per check, so that cancelling at the deadline cancels only that check's queries
  // (Resolver.cancel() cancels everything in flight on it). Creating one costs tens of µs.
  const newResolver = (): Resolver => {
    const resolver = new Resolver({ timeout: timeoutMs, tries: 1 });
    if (servers) resolver.setServers(servers);
    return resolver;
  };
  try {
    newResolver(); // fail at start-up, not at the first request, on a bad server address
  } catch (err) {
    throw new DnsListConfigError(`DNS servers ${JSON.stringify(servers)} are not valid: expected IP or IP:PORT, e.g. 127.0.0.1:53`, { cause: err });
  }

  const toResult = (zone: DnsListZone, answer: Answer): DnsListResult =>
    'error' in answer ? { ...zone, listed: 'error', error: answer.error } : { ...zone, listed: answer.listed };

  async function lookup(resolver: Resolver, name: string): Promise<Answer> {
    let answer: Answer;
    try {
      answer = judgeRecords(await resolver.resolve4(name, { ttl: true }));
    } catch (err) {
      answer = judgeFailure(err, negativeTtlSeconds);
    }
    if ('listed' in answer && answer.ttlSeconds > 0) {
      cache.set(name, answer.listed, clock() + Math.min(answer.ttlSeconds, MAX_TTL_SECONDS) * 1000);
    }
    return answer;
  }

  return {
    zones,
    async check(clientAddress) {
      const reversed = reversedAddressName(clientAddress);
      if (reversed === null) return zones.map((z) => toResult(z, { error: 'failed' }));
      const now = clock();
      const results: Array<DnsListResult | undefined> = zones.map((zone) => {
        const cached = cache.get(`${reversed}.${zone.zone}`, now);
        return cached === undefined ? undefined : { ...zone, listed: cached };
      });
      const missing = zones.flatMap((_zone, i) => (results[i] === undefined ? [i] : []));
      if (missing.length === 0) return results as DnsListResult[];

      const resolver = newResolver();
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<'deadline'>((resolve) => {
        timer = setTimeout(() => resolve('deadline'), timeoutMs);
      });
      const lookups = missing.map(async (i) => {
        const zone = zones[i] as DnsListZone;
        results[i] = toResult(zone, await lookup(resolver, `${reversed}.${zone.zone}`));
      });
      const outcome = await Promise.race([Promise.all(lookups), deadline]);
      clearTimeout(timer);
      if (outcome === 'deadline') resolver.cancel();
      return zones.map((zone, i) => results[i] ?? toResult(zone, { error: 'timeout' }));
    },
  };
}
