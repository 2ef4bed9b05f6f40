// S25R: is this client an end-user or dynamic-pool machine, judged by its verified reverse-DNS
// name alone? Pure; the rule data lives in s25r-rules.ts.

import { parseIpAddress } from '../core/ip-address.ts';
import { S25R_DYNAMIC_PATTERNS, S25R_EXCEPTIONS, S25R_RULES, type S25rRuleNumber } from './s25r-rules.ts';

/**
 * How IPv6 clients are judged. The rules were written for IPv4-era PTR names, and some ports (e.g.
 * milter-manager's) check IPv4 clients only.
 *
 * - `apply` (default): the same rules. A missing PTR is rule 0, an address-shaped PTR
 *   (`2001-db8--1.ipv6.isp.example`) rule 1 — both still greylisted as usual, which is what
 *   Postgrey did anyway; real IPv6 senders need a PTR to reach the large providers.
 * - `skip`: IPv6 clients are never S25R-suspicious; in `--selective s25r` they pass at once, in
 *   `--selective score` only DNS lists can make them greylisted.
 */
export type S25rIpv6Mode = 'apply' | 'skip';

export interface S25rOptions {
  ipv6: S25rIpv6Mode;
}

export interface S25rResult {
  suspicious: boolean;
  /** The lowest matching generic rule, or `dynamic-pattern`; also set when an exception cleared it. */
  rule?: S25rRuleNumber | 'dynamic-pattern';
  /** Which dynamic pattern matched (with `rule: 'dynamic-pattern'`). */
  pattern?: string;
  /** The exception that cleared a matching name: not suspicious after all. */
  exception?: string;
  /** Set when the rules were not applied: an IPv6 client under `ipv6: 'skip'`. */
  skipped?: 'ipv6';
}

function isIpv6(clientAddress: string): boolean {
  // An IPv4-mapped address (::ffff:192.0.2.1) is an IPv4 client.
  return parseIpAddress(clientAddress)?.family === 6;
}

/**
 * Applies the S25R rules to Postfix's verified `client_name` (`unknown` when reverse DNS is missing
 * or does not confirm). An empty name counts as `unknown`: there is no usable name either way.
 */
export function classifyClientName(clientName: string, clientAddress: string, opts: S25rOptions): S25rResult {
  if (opts.ipv6 === 'skip' && isIpv6(clientAddress)) return { suspicious: false, skipped: 'ipv6' };
  const name = clientName.trim().replace(/\.$/, '').toLowerCase();
  if (name === '' || name === 'unknown') return { suspicious: true, rule: 0 };

  let match: Pick<S25rResult, 'rule' | 'pattern'> | null = null;
  const rule = S25R_RULES.find((r) => r.pattern.test(name));
  if (rule !== undefined) match = { rule: rule.rule };
  else {
    const dynamic = S25R_DYNAMIC_PATTERNS.find((p) => p.pattern.test(name));
    if (dynamic !== undefined) match = { rule: 'dynamic-pattern', pattern: dynamic.id };
  }
  if (match === null) return { suspicious: false };

  const exception = S25R_EXCEPTIONS.find((e) => e.pattern.test(name));
  if (exception !== undefined) return { suspicious: false, ...match, exception: exception.id };
  return { suspicious: true, ...match };
}
