// The network set behind client whitelist entries such as `192.0.2.0/24` or `2001:db8::/32`:
// an address matches when some entry's network contains it, whatever the prefix lengths mixed.

import { describe, expect, it } from 'vitest';
import { parseIpAddress, type IpAddress } from '../../functions/core/ip-address.ts';
import { IpPrefixSet } from '../../functions/core/ip-prefix-set.ts';

function ip(text: string): IpAddress {
  const parsed = parseIpAddress(text);
  if (parsed === null) throw new Error(`not an address: ${text}`);
  return parsed;
}

function setOf(...entries: Array<[string, number]>): IpPrefixSet {
  const set = new IpPrefixSet();
  for (const [address, prefixLength] of entries) set.add(ip(address), prefixLength);
  return set;
}

describe('IpPrefixSet', () => {
  it('matches IPv4 addresses inside any of several networks of different lengths, and no others', () => {
    const set = setOf(['192.0.2.77', 24], ['198.51.100.9', 32], ['10.0.0.0', 8], ['203.0.113.128', 25]);

    expect(set.has(ip('192.0.2.0'))).toBe(true);
    expect(set.has(ip('192.0.2.255'))).toBe(true);
    expect(set.has(ip('192.0.3.1'))).toBe(false);
    expect(set.has(ip('198.51.100.9'))).toBe(true);
    expect(set.has(ip('198.51.100.8'))).toBe(false);
    expect(set.has(ip('10.255.255.255'))).toBe(true);
    expect(set.has(ip('11.0.0.0'))).toBe(false);
    expect(set.has(ip('203.0.113.200'))).toBe(true);
    expect(set.has(ip('203.0.113.127'))).toBe(false);
  });

  it('treats /0 as every address of its family only', () => {
    const set = setOf(['0.0.0.0', 0]);

    expect(set.has(ip('255.255.255.255'))).toBe(true);
    expect(set.has(ip('2001:db8::1'))).toBe(false);
  });

  it('matches IPv6 networks, and an IPv4-mapped address as its IPv4 address', () => {
    const set = setOf(['2001:db8:1::', 48], ['2001:db8:ffff::5', 128], ['192.0.2.0', 24]);

    expect(set.has(ip('2001:db8:1:ffff::1'))).toBe(true);
    expect(set.has(ip('2001:db8:2::1'))).toBe(false);
    expect(set.has(ip('2001:db8:ffff::5'))).toBe(true);
    expect(set.has(ip('2001:db8:ffff::6'))).toBe(false);
    expect(set.has(ip('::ffff:192.0.2.10'))).toBe(true);
  });

  it('counts each distinct network once, however it was written', () => {
    const set = setOf(['192.0.2.1', 24], ['192.0.2.200', 24], ['192.0.2.1', 32], ['2001:db8::1', 32], ['2001:db8:5::', 32]);

    expect(set.size).toBe(3);
  });
});
