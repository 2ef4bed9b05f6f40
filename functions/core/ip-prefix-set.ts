// A set of IP networks answering "is this address inside one of them" with one hash lookup per
// distinct prefix length in use, instead of testing every entry: shipped whitelists hold ~70
// networks but only a handful of prefix lengths.

import { formatIpAddress, networkAddress } from './ip-address.ts';
import type { IpAddress } from './ip-address.ts';

export class IpPrefixSet {
  readonly #byFamily = new Map<4 | 6, Map<number, Set<string>>>();
  #size = 0;

  add(ip: IpAddress, prefixLength: number): void {
    let byLength = this.#byFamily.get(ip.family);
    if (byLength === undefined) {
      byLength = new Map();
      this.#byFamily.set(ip.family, byLength);
    }
    let networks = byLength.get(prefixLength);
    if (networks === undefined) {
      networks = new Set();
      byLength.set(prefixLength, networks);
    }
    const key = formatIpAddress(networkAddress(ip, prefixLength));
    if (!networks.has(key)) {
      networks.add(key);
      this.#size += 1;
    }
  }

  get size(): number {
    return this.#size;
  }

  has(ip: IpAddress): boolean {
    const byLength = this.#byFamily.get(ip.family);
    if (byLength === undefined) return false;
    for (const [prefixLength, networks] of byLength) {
      if (networks.has(formatIpAddress(networkAddress(ip, prefixLength)))) return true;
    }
    return false;
  }
}
