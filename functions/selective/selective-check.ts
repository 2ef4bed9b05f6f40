// Selective greylisting as one step of the decision path: built once from the configuration by
// every composition root (serve, Lambda), called by the decision service before any store work.
// Only score mode consults DNS lists, and with none configured no resolver is ever created.

import type { ParseDomain } from '../core/client-identity.ts';
import type { PolicyRequest } from '../core/types.ts';
import { clientSignals } from './client-signals.ts';
import { createDnsListChecker } from './dns-lists.ts';
import { classifyClientName, type S25rResult } from './s25r.ts';
import { S25R_RULESET_VERSION } from './s25r-rules.ts';
import { selectiveDecision, type DnsListResult, type DnsListZone, type SelectiveOutcome, type SelectiveSettings } from './selective.ts';

/** What the check needs of dns-lists.ts (a fake in a test, if ever). */
export interface DnsListLookup {
  check(clientAddress: string): Promise<DnsListResult[]>;
}

export interface SelectiveConfig {
  selective: SelectiveSettings;
  /** `--dnsbl` then `--dnswl` zones, in the order given; only with `--selective score`. */
  dnsLists: readonly DnsListZone[];
  dnsTimeoutMs: number;
  /** `IP` / `IP:PORT` / `[IPv6]:PORT`; null = the system's resolvers. */
  dnsServers: readonly string[] | null;
}

/**
 * Judges one request: skip greylisting, or greylist with the signals that led there. Synchronous
 * unless DNS lists are asked, so the common path adds no turn of the event loop.
 */
export type SelectiveCheck = (request: PolicyRequest) => SelectiveOutcome | Promise<SelectiveOutcome>;

/** Client names whose S25R classification is remembered (oldest forgotten first). */
const CLASSIFICATION_CACHE_ENTRIES = 10_000;

/**
 * Null when selective greylisting is off: Postgrey's behaviour, nothing is consulted. `parseDomain`
 * (the Public Suffix List) lets score mode compare the HELO name's organisation with the client's.
 */
export function createSelectiveCheck(settings: SelectiveSettings, dnsLists?: DnsListLookup, parseDomain?: ParseDomain): SelectiveCheck | null {
  if (settings.mode === 'off') return null;
  const lists = settings.mode === 'score' ? dnsLists ?? null : null;
  const signalsOf = settings.mode === 'score' ? (request: PolicyRequest) => clientSignals(request, parseDomain) : () => [];

  // S25R's verdict depends only on the client's name (and, when IPv6 clients are skipped, its
  // address): an MTA sends many messages, so most classifications are repeats.
  const classified = new Map<string, S25rResult>();
  const classify = (request: PolicyRequest): S25rResult => {
    const key = settings.s25rIpv6 === 'skip' ? `${request.clientAddress}\n${request.clientName}` : request.clientName;
    let s25r = classified.get(key);
    if (s25r === undefined) {
      s25r = classifyClientName(request.clientName, request.clientAddress, { ipv6: settings.s25rIpv6 });
      if (classified.size >= CLASSIFICATION_CACHE_ENTRIES) classified.delete(classified.keys().next().value as string);
      classified.set(key, s25r);
    }
    return s25r;
  };

  if (lists === null) return (request) => selectiveDecision({ settings, s25r: classify(request), clientSignals: signalsOf(request), dnsLists: [] });
  return async (request) => {
    const s25r = classify(request);
    return selectiveDecision({ settings, s25r, clientSignals: signalsOf(request), dnsLists: await lists.check(request.clientAddress) });
  };
}

/** The check a configuration asks for, with its DNS-list resolver when score mode names lists. */
export function selectiveCheckFor(config: SelectiveConfig, clock: () => number, parseDomain?: ParseDomain): SelectiveCheck | null {
  const dnsLists =
    config.selective.mode === 'score' && config.dnsLists.length > 0
      ? createDnsListChecker({
          zones: config.dnsLists,
          timeoutMs: config.dnsTimeoutMs,
          clock,
          ...(config.dnsServers ? { servers: config.dnsServers } : {}),
        })
      : undefined;
  return createSelectiveCheck(config.selective, dnsLists, parseDomain);
}

/** For the start-up line: the mode and what it weighs. */
export function describeSelective(config: SelectiveConfig): string {
  const { selective } = config;
  if (selective.mode === 'off') return 'off';
  if (selective.mode === 's25r') return `s25r (rule set ${S25R_RULESET_VERSION}, IPv6 ${selective.s25rIpv6})`;
  const lists = config.dnsLists.map((z) => `${z.kind} ${z.zone}=${z.weight}`);
  const weighed = Object.entries(selective.signalWeights).filter(([, weight]) => weight > 0).map(([name, weight]) => `, ${name}=${weight}`);
  return `score >= ${selective.greylistScore} (s25r=${selective.s25rWeight}${weighed.join('')}, rule set ${S25R_RULESET_VERSION}, IPv6 ${selective.s25rIpv6}${lists.length > 0 ? `; ${lists.join(', ')}` : ''})`;
}
