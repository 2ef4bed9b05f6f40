// The client part of the greylist key (postgrey.md §1) and the auto-whitelist key.

import { CoreError } from './errors.ts';
import { formatIpAddress, maxPrefixLength, networkAddress, parseIpAddress } from './ip-address.ts';
import type { IpAddress } from './ip-address.ts';
import type { PolicyConfig } from './policy-config.ts';

type NetKeyConfig = Pick<PolicyConfig, 'lookupByHost' | 'ipv4Cidr' | 'ipv6Cidr'>;

function requireIp(address: string): IpAddress {
  const ip = parseIpAddress(address);
  if (ip === null) {
    throw new CoreError(
      'invalid-client-address',
      `client_address ${JSON.stringify(address.slice(0, 100))} is not an IPv4 or IPv6 address; ` +
        'validate requests with parsePolicyRequest before keying them',
    );
  }
  return ip;
}

/**
 * CLIENTNET of the triplet key. By subnet (the default): the network address under `--ipv4cidr` /
 * `--ipv6cidr`, without a length (`192.0.2.0`, `2001:db8:1:2:0:0:0:0`). With `--lookup-by-host`
 * Postgrey stringified the whole NetAddr::IP object, so the key keeps a `/32` or `/128` suffix.
 */
export function clientNetKey(address: string, config: NetKeyConfig): string {
  const ip = requireIp(address);
  if (config.lookupByHost) return `${formatIpAddress(ip)}/${maxPrefixLength(ip)}`;
  const prefixLength = ip.family === 4 ? config.ipv4Cidr : config.ipv6Cidr;
  return formatIpAddress(networkAddress(ip, prefixLength));
}

/**
 * The auto-whitelist key: the exact client IP in canonical form. Postgrey used the raw attribute
 * (upper-case expanded IPv6 under --privacy); greygate canonicalises so that every spelling of one
 * IPv6 address shares one record — `2001:db8:0:0:0:0:0:1`, never `2001:DB8::1`.
 */
export function clientAwlKey(address: string): string {
  return formatIpAddress(requireIp(address));
}
