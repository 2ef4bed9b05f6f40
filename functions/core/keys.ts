// The store keys of one decision (postgrey.md §1).

import { clientIdentity, type ParseDomain } from './client-identity.ts';
import { clientAwlKey, clientNetKey } from './client-net.ts';
import { CoreError } from './errors.ts';
import type { PolicyConfig } from './policy-config.ts';
import { normalizeSender } from './sender.ts';
import { asciiLower } from './text.ts';
import type { DecisionKeys, PolicyRequest } from './types.ts';

type KeyConfig = Pick<PolicyConfig, 'lookupByHost' | 'ipv4Cidr' | 'ipv6Cidr' | 'autoWhitelistClients'> &
  Partial<Pick<PolicyConfig, 'clientIdentity' | 'autoWhitelistOrgs'>>;

/**
 * Whose auto-whitelist a decision counts towards and reads: the client's address (Postgrey's
 * client AWL), or, with `--auto-whitelist-orgs`, the organisation of a stable verified host name
 * (a pool of thousands of addresses never earns a per-address whitelist). Either way it is one
 * record in the store's client slot, with the same atomicity and round trips.
 */
export type AwlTarget = { kind: 'client'; threshold: number } | { kind: 'org'; threshold: number; org: string };

export interface DecisionPlan {
  keys: DecisionKeys;
  /** Null when no auto-whitelist applies (`keys.client` is then null too). */
  awl: AwlTarget | null;
}

/** The organisation of a stable verified host name, or null (client-identity.ts). */
function organisation(request: PolicyRequest, parseDomain: ParseDomain | undefined, why: string): string | null {
  if (parseDomain === undefined) {
    throw new CoreError('no-public-suffix-list', `${why} needs the Public Suffix List lookup; pass parseDomain`);
  }
  const identity = clientIdentity(request.clientName, request.clientAddress, parseDomain);
  return identity.kind === 'org' ? identity.org : null;
}

/**
 * CLIENT of the triplet key: the subnet (Postgrey's CLIENTNET), or with `clientIdentity: 'org'`
 * the organisation of a stable verified host name (`google.com`). The two cannot collide: an
 * organisation always ends in a listed suffix, a subnet key is digits, dots, colons and hex.
 */
function clientKeyPart(request: PolicyRequest, config: KeyConfig, org: string | null): string {
  return config.clientIdentity === 'org' && org !== null ? org : clientNetKey(request.clientAddress, config);
}

/** The clear-text triplet key `CLIENT/SENDER/RECIPIENT`, lower-cased (ASCII, as Perl's `lc`). */
export function tripletKey(request: PolicyRequest, config: KeyConfig, parseDomain?: ParseDomain): string {
  const org = config.clientIdentity === 'org' ? organisation(request, parseDomain, 'client identity org') : null;
  return tripletKeyFor(request, config, org);
}

function tripletKeyFor(request: PolicyRequest, config: KeyConfig, org: string | null): string {
  return asciiLower(`${clientKeyPart(request, config, org)}/${normalizeSender(request.sender)}/${request.recipient}`);
}

/**
 * The keys to read and write, and whose auto-whitelist they hold. With `hashKey` (`--privacy`)
 * each key is replaced by `hashKey(clear)`, where `clear` is exactly the unhashed key: the
 * lower-cased triplet key above (`192.0.2.0/alice@example.net/bob@example.org`), the canonical
 * client IP of `clientAwlKey` (`192.0.2.10`, `2001:db8:0:0:0:0:0:1`) or `org:` and the
 * organisation (`org:google.com`). None collides with another: only triplet keys contain `/`, only
 * organisation keys start with `org:` (an IPv6 address has no `o`).
 */
export function decisionPlan(request: PolicyRequest, config: KeyConfig, hashKey?: (clear: string) => string, parseDomain?: ParseDomain): DecisionPlan {
  const hash = hashKey ?? ((clear: string) => clear);
  const orgsCount = (config.autoWhitelistOrgs ?? 0) > 0;
  const org = config.clientIdentity === 'org' || orgsCount ? organisation(request, parseDomain, 'organisation identity and auto-whitelisting') : null;
  const triplet = hash(tripletKeyFor(request, config, org));
  if (orgsCount && org !== null) {
    return { keys: { triplet, client: hash(`org:${org}`) }, awl: { kind: 'org', threshold: config.autoWhitelistOrgs ?? 0, org } };
  }
  if (config.autoWhitelistClients > 0) {
    return { keys: { triplet, client: hash(clientAwlKey(request.clientAddress)) }, awl: { kind: 'client', threshold: config.autoWhitelistClients } };
  }
  return { keys: { triplet, client: null }, awl: null };
}

/** decisionPlan's keys alone. */
export function decisionKeys(
  request: PolicyRequest,
  config: KeyConfig,
  hashKey?: (clear: string) => string,
  parseDomain?: ParseDomain,
): DecisionKeys {
  return decisionPlan(request, config, hashKey, parseDomain).keys;
}
