// The store keys of one decision (postgrey.md §1).

import { clientAwlKey, clientNetKey } from './client-net.ts';
import type { PolicyConfig } from './policy-config.ts';
import { normalizeSender } from './sender.ts';
import { asciiLower } from './text.ts';
import type { DecisionKeys, PolicyRequest } from './types.ts';

type KeyConfig = Pick<PolicyConfig, 'lookupByHost' | 'ipv4Cidr' | 'ipv6Cidr' | 'autoWhitelistClients'>;

/** The clear-text triplet key `CLIENTNET/SENDER/RECIPIENT`, lower-cased (ASCII, as Perl's `lc`). */
export function tripletKey(request: PolicyRequest, config: KeyConfig): string {
  const clientNet = clientNetKey(request.clientAddress, config);
  return asciiLower(`${clientNet}/${normalizeSender(request.sender)}/${request.recipient}`);
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
): DecisionKeys {
  const hash = hashKey ?? ((clear: string) => clear);
  const triplet = hash(tripletKey(request, config));
  const client = config.autoWhitelistClients > 0 ? hash(clientAwlKey(request.clientAddress)) : null;
  return { triplet, client };
}
