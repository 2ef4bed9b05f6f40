// A set of IP networks answering "is this address inside one of them" with one hash lookup per
// distinct prefix length in use, instead of testing every entry: shipped whitelists hold ~70
// networks but only a handful of prefix lengths. Every decision asks it, so an IPv4 lookup
// allocates nothing: its networks are keyed by the masked 32-bit value itself.

import { clampPrefixLength, formatIpAddress, ipv4Mask, networkAddress } from './ip-address.ts';
import type { IpAddress } from './ip-address.ts';

interface Ipv4Networks {
  mask: number;
  values: Set<number>;
}

interface Ipv6Networks {
  prefixLength: number;
  keys: Set<string>;
}

export class IpPrefixSet {
  // Arrays, not maps: iterating them in the lookup creates no iterator or entry objects.
  readonly #v4: Ipv4Networks[] = [];
  readonly #v6: Ipv6Networks[] = [];
  #size = 0;

  add(ip: IpAddress, prefixLength: number): void {
    const bits = clampPrefixLength(ip, prefixLength);
    let added: boolean;
    if (ip.family === 4) {
      const mask = ipv4Mask(bits);
      const value = (ip.value & mask) >>> 0;
      let group = this.#v4.find((g) => g.mask === mask);
      if (group === undefined) this.#v4.push((group = { mask, values: new Set() }));
      added = !group.values.has(value);
      group.values.add(value);
    } else {
      let group = this.#v6.find((g) => g.prefixLength === bits);
      if (group === undefined) this.#v6.push((group = { prefixLength: bits, keys: new Set() }));
      const key = formatIpAddress(networkAddress(ip, bits));
      added = !group.keys.has(key);
      group.keys.add(key);
    }
    if (added) this.#size += 1;
  }

  get size(): number {
    return this.#size;
  }

  has(ip: IpAddress): boolean {
    if (ip.family === 4) {
      for (const { mask, values } of this.#v4) {
        if (values.has((ip.value & mask) >>> 0)) return true;
      }
      return false;
    }
    for (const { prefixLength, keys } of this.#v6) {
      if (keys.has(formatIpAddress(networkAddress(ip, prefixLength)))) return true;
    }
    return false;
  }
}
