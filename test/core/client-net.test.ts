import { describe, expect, it } from 'vitest';
import { clientAwlKey, clientNetKey } from '../../functions/core/client-net.ts';
import { CoreError } from '../../functions/core/errors.ts';
import { greygateConfig } from './fixtures.ts';

describe('clientNetKey (CLIENTNET of the triplet key)', () => {
  it.each([
    ['IPv4 by /24 subnet (default)', '192.0.2.10', {}, '192.0.2.0'],
    ['IPv6 by /64 subnet (default), expanded lower-case', '2001:db8:1:2:3:4:5:6', {}, '2001:db8:1:2:0:0:0:0'],
    ['compressed upper-case IPv6 gives the same key', '2001:DB8:1:2::1', {}, '2001:db8:1:2:0:0:0:0'],
    ['--ipv4cidr=16', '192.0.2.10', { ipv4Cidr: 16 }, '192.0.0.0'],
    ['--ipv4cidr=20 cuts inside an octet', '203.0.113.77', { ipv4Cidr: 20 }, '203.0.112.0'],
    ['--ipv4cidr=32 keeps the host, without /32', '192.0.2.10', { ipv4Cidr: 32 }, '192.0.2.10'],
    ['--ipv4cidr=0', '192.0.2.10', { ipv4Cidr: 0 }, '0.0.0.0'],
    ['--ipv6cidr=48', '2001:db8:1:2::1', { ipv6Cidr: 48 }, '2001:db8:1:0:0:0:0:0'],
    ['--ipv6cidr=56 cuts inside a group', '2001:db8:1:2ff::1', { ipv6Cidr: 56 }, '2001:db8:1:200:0:0:0:0'],
    ['--ipv6cidr=128', '2001:db8::1', { ipv6Cidr: 128 }, '2001:db8:0:0:0:0:0:1'],
    ['--lookup-by-host keeps /32', '192.0.2.10', { lookupByHost: true }, '192.0.2.10/32'],
    ['--lookup-by-host keeps /128 on expanded IPv6', '2001:DB8::1', { lookupByHost: true }, '2001:db8:0:0:0:0:0:1/128'],
    ['an IPv4-mapped address keys as IPv4', '::ffff:192.0.2.10', {}, '192.0.2.0'],
    ['an IPv4-mapped address by host keys as IPv4', '::ffff:192.0.2.10', { lookupByHost: true }, '192.0.2.10/32'],
  ])('%s', (_what, address, overrides, expected) => {
    // Prepare
    const config = greygateConfig(overrides);
    // Act
    const key = clientNetKey(address, config);
    // Assess
    expect(key).toBe(expected);
  });

  it('refuses an address parsePolicyRequest would have refused, with a named error', () => {
    // Prepare
    const config = greygateConfig();
    // Act
    const act = () => clientNetKey('not-an-ip', config);
    // Assess
    expect(act).toThrow(CoreError);
    expect(act).toThrow(/not an IPv4 or IPv6 address/);
  });
});

describe('clientAwlKey (auto-whitelist key: the exact client IP)', () => {
  it.each([
    ['IPv4 is the address itself', '203.0.113.50', '203.0.113.50'],
    ['IPv6 is canonical lower-case expanded, not Postgrey\'s upper case', '2001:DB8::1', '2001:db8:0:0:0:0:0:1'],
    ['every spelling of one IPv6 address shares the key', '2001:db8:0::0:1', '2001:db8:0:0:0:0:0:1'],
    ['IPv4-mapped is the IPv4 address', '::ffff:203.0.113.50', '203.0.113.50'],
  ])('%s', (_what, address, expected) => {
    // Prepare: nothing beyond the address
    // Act
    const key = clientAwlKey(address);
    // Assess
    expect(key).toBe(expected);
  });
});
