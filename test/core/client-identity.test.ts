// Which verified host names give an organisation key with --client-identity=org, and which keep the
// subnet key: big senders' pool names share their organisation's key, generic and dynamic names of
// one ISP never do. Against the real Public Suffix List (tldts), as the runtimes use it.

import { describe, expect, it } from 'vitest';
import { clientIdentity } from '../../functions/core/client-identity.ts';
import { parseDomainWithPsl } from '../../functions/service/public-suffix-list.ts';

const identity = (name: string, address: string) => clientIdentity(name, address, parseDomainWithPsl);

describe('client identity: stable server names give their organisation', () => {
  it.each([
    ['mail-yw1-f169.google.com', '209.85.219.169', 'google.com'],
    ['mail-sor-f41.google.com', '209.85.220.41', 'google.com'],
    ['mail-eopbgr10051.outbound.protection.outlook.com', '40.107.1.51', 'outbound.protection.outlook.com'],
    ['a8-12.smtp-out.amazonses.com', '54.240.8.12', 'smtp-out.amazonses.com'],
    ['sonic312-20.consmr.mail.bf2.yahoo.com', '74.6.129.83', 'consmr.mail.bf2.yahoo.com'],
    ['mail132-5.atl131.mcsv.net', '198.2.132.5', 'atl131.mcsv.net'],
    ['o1.ptr1234.sendgrid.net', '167.89.0.1', 'ptr1234.sendgrid.net'],
    ['mail.example.co.uk', '192.0.2.25', 'example.co.uk'],
    ['Mail-YW1-F169.Google.COM.', '209.85.219.169', 'google.com'],
    ['mx.example.org', '2001:db8::25', 'example.org'],
  ])('%s (%s) → %s', (name, address, org) => {
    expect(identity(name, address)).toEqual({ kind: 'org', org });
  });

  it('never goes shorter than the registrable domain', () => {
    expect(identity('example.co.uk', '192.0.2.25')).toEqual({ kind: 'org', org: 'example.co.uk' });
    expect(identity('example.com', '192.0.2.25')).toEqual({ kind: 'org', org: 'example.com' });
    // under a private-section suffix each customer is an organisation of its own
    expect(identity('mailer.s3.amazonaws.com', '192.0.2.25')).toEqual({ kind: 'org', org: 'mailer.s3.amazonaws.com' });
    expect(identity('smtp.one.herokuapp.com', '192.0.2.25')).toEqual({ kind: 'org', org: 'one.herokuapp.com' });
  });
});

describe('client identity: names that keep the subnet key', () => {
  it.each([
    ['unknown', '192.0.2.1', 'unverified'],
    ['', '192.0.2.1', 'unverified'],
    ['localhost', '127.0.0.1', 'not-a-host-name'],
    ['mailserver', '192.0.2.1', 'not-a-host-name'],
    ['192.0.2.1', '192.0.2.1', 'not-a-host-name'],
    ['bad_name!.example.com', '192.0.2.1', 'not-a-host-name'],
    ['mail.example.local', '192.0.2.1', 'unlisted-suffix'],
    ['co.uk', '192.0.2.1', 'public-suffix'],
    ['herokuapp.com', '192.0.2.1', 'public-suffix'],
    // each EC2 host name is a public suffix of its own (*.compute-1.amazonaws.com)
    ['ec2-54-1-2-3.compute-1.amazonaws.com', '54.1.2.3', 'public-suffix'],
  ])('%s (%s): %s', (name, address, why) => {
    expect(identity(name, address)).toEqual({ kind: 'net', why });
  });

  it.each([
    ['dsl-187-123-45-67.example.net', '187.123.45.67'],
    ['67-45-123-187.example.net', '187.123.45.67'],
    ['host187x123x45.example.net', '187.123.45.67'],
    ['bb7b2d43.example.net', '187.123.45.67'],
    ['p5b0c1d2e.dip0.t-ipconnect.de', '91.12.29.46'],
    ['c0-a8-00-2a.example.net', '192.168.0.42'],
    ['2001-db8-1-2-0-0-0-5.v6.example.net', '2001:db8:1:2::5'],
  ])('the address spelt in the name: %s (%s)', (name, address) => {
    expect(identity(name, address)).toEqual({ kind: 'net', why: 'address-in-name' });
  });

  it.each([
    ['dynamic-abc.example.net'],
    ['pool-xyz.example.net'],
    ['adsl12.example.net'],
    ['cpe.example.net'],
    ['ppp-qrs.example.net'],
    ['dhcp4-a.example.net'],
    ['cable-modem.north.example.net'],
    ['broadband.example.net'],
    ['dialup-x.example.net'],
    ['a.res.example.net'],
  ])('a dynamic or generic label: %s', (name) => {
    expect(identity(name, '198.51.100.77')).toEqual({ kind: 'net', why: 'dynamic-label' });
  });

  it('looks for dynamic words only left of the registrable domain', () => {
    expect(identity('mx1.dynamo-mail.com', '198.51.100.77')).toEqual({ kind: 'org', org: 'dynamo-mail.com' });
  });

  it('gives two infected home hosts of one ISP no shared key', () => {
    const first = identity('dyn-203-0-113-5.cust.example-isp.net', '203.0.113.5');
    const second = identity('dyn-198-51-100-9.cust.example-isp.net', '198.51.100.9');
    expect(first.kind).toBe('net');
    expect(second.kind).toBe('net');
  });
});
