// The store keys of one decision (postgrey.md §1).

import { clientIdentity, type ParseDomain } from './client-identity.ts';
import { clientAwlKey, clientNetKey } from './client-net.ts';
import { CoreError } from './errors.ts';
import type { PolicyConfig } from './policy-config.ts';
import { normalizeSender } from './sender.ts';
import { asciiLower } from './text.ts';
import type { DecisionKeys, PolicyRequest } from './types.ts';

type KeyConfig = Pick<PolicyConfig, 'lookupByHost' | 'ipv4Cidr' | 'ipv6Cidr' | 'autoWhitelistClients'> &
  Partial<Pick<PolicyConfig, 'clientIdentity'>>;

/**
 * CLIENT of the triplet key: the subnet (Postgrey's CLIENTNET), or with `clientIdentity: 'org'`
 * the organisation of a stable verified host name (`google.com`). The two cannot collide: an
 * organisation always ends in a listed suffix, a subnet key is digits, dots, colons and hex.
 */
export function clientKeyPart(request: PolicyRequest, config: KeyConfig, parseDomain?: ParseDomain): string {
  if (config.clientIdentity === 'org') {
    if (parseDomain === undefined) {
      throw new CoreError('no-public-suffix-list', 'client identity org needs the Public Suffix List lookup; pass parseDomain');
    }
    const identity = clientIdentity(request.clientName, request.clientAddress, parseDomain);
    if (identity.kind === 'org') return identity.org;
  }
  return clientNetKey(request.clientAddress, config);
}

/** The clear-text triplet key `CLIENT/SENDER/RECIPIENT`, lower-cased (ASCII, as Perl's `lc`). */
export function tripletKey(request: PolicyRequest, config: KeyConfig, parseDomain?: ParseDomain): string {
  const client = clientKeyPart(request, config, parseDomain);
  return asciiLower(`${client}/${normalizeSender(request.sender)}/${request.recipient}`);
}

/**
 * The keys to read and write. With `hashKey` (`--privacy`) each key is replaced by
 * `hashKey(clear)`, where `clear` is exactly the unhashed key: the lower-cased triplet key above
 * (`192.0.2.0/alice@example.net/bob@example.org`) and the canonical client IP of `clientAwlKey`
 * (`192.0.2.10`, `2001:db8:0:0:0:0:0:1`). The two never collide: only triplet keys contain `/`.
 */
export function decisionKeys(
  request: PolicyRequest,
  config: KeyConfig,
  hashKey?: (clear: string) => string,
  parseDomain?: ParseDomain,
): DecisionKeys {
  const hash = hashKey ?? ((clear: string) => clear);
  const triplet = hash(tripletKey(request, config, parseDomain));
  const client = config.autoWhitelistClients > 0 ? hash(clientAwlKey(request.clientAddress)) : null;
  return { triplet, client };
}
