import { describe, expect, it } from 'vitest';
import { parsePolicyRequest } from '../../functions/core/policy-request.ts';
import { postfixAttributes } from './fixtures.ts';

describe('parsePolicyRequest', () => {
  it('reads the attributes of a Postfix request', () => {
    // Prepare
    const attrs = postfixAttributes({ queue_id: '4ABC1234', instance: 'a1b2.c3d4.e5f6.0' });
    // Act
    const parsed = parsePolicyRequest(attrs);
    // Assess
    expect(parsed).toEqual({
      ok: true,
      request: {
        clientAddress: '192.0.2.10',
        clientName: 'mail.example.net',
        sender: 'alice@example.net',
        recipient: 'bob@example.org',
        instance: 'a1b2.c3d4.e5f6.0',
        queueId: '4ABC1234',
        protocolState: 'RCPT',
        heloName: 'mail.example.net',
        reverseClientName: 'mail.example.net',
        etrnDomainPresent: true,
      },
    });
  });

  it('marks etrn_domain present when Postfix sends it empty, absent when not sent', () => {
    // Prepare
    const withEmpty = postfixAttributes({ etrn_domain: '' });
    const without = postfixAttributes({ etrn_domain: undefined });
    // Act
    const a = parsePolicyRequest(withEmpty);
    const b = parsePolicyRequest(without);
    // Assess
    expect(a.ok && a.request.etrnDomainPresent).toBe(true);
    expect(b.ok && b.request.etrnDomainPresent).toBe(false);
  });

  it.each(['client_address', 'client_name', 'sender', 'recipient'])(
    'answers missing-attribute with Postgrey\'s wording when %s is absent (step 1)',
    (field) => {
      // Prepare
      const attrs = postfixAttributes({ [field]: undefined });
      // Act
      const parsed = parsePolicyRequest(attrs);
      // Assess
      expect(parsed).toEqual({ ok: false, code: 'missing-attribute', field, message: `attribute missing: ${field}` });
    },
  );

  it('accepts the null sender and an empty client_name', () => {
    // Prepare
    const attrs = postfixAttributes({ sender: '', client_name: '' });
    // Act
    const parsed = parsePolicyRequest(attrs);
    // Assess
    expect(parsed.ok && parsed.request.sender).toBe('');
    expect(parsed.ok && parsed.request.clientName).toBe('');
  });

  it.each([
    ['empty', '', /client_address is empty/],
    ['a hostname', 'mail.example.net', /not an IPv4 or IPv6 address/],
    ['three-part IPv4', '192.0.2', /not an IPv4 or IPv6 address/],
    ['an octet above 255', '192.0.2.256', /not an IPv4 or IPv6 address/],
    ['a middle octet above 255', '192.300.2.1', /not an IPv4 or IPv6 address/],
    ['octal-looking octets', '010.0.2.1', /not an IPv4 or IPv6 address/],
    ['an IPv4 with spaces', ' 192.0.2.10', /not an IPv4 or IPv6 address/],
    ['a broken IPv6', '2001:db8::1::2', /not an IPv4 or IPv6 address/],
    ['an SMTP address literal prefix', 'ipv6:2001:db8::1', /without the "ipv6:" prefix/],
    ['an IPv6 zone id', 'fe80::1%eth0', /zone ids/],
  ])('refuses client_address that is %s instead of crashing as Postgrey did (step 2)', (_what, value, message) => {
    // Prepare
    const attrs = postfixAttributes({ client_address: value });
    // Act
    const parsed = parsePolicyRequest(attrs);
    // Assess
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.code).toBe('invalid-attribute');
    expect(parsed.field).toBe('client_address');
    expect(parsed.message).toMatch(message);
  });

  it.each(['192.0.2.10', '2001:db8::1', '2001:DB8:0:0:0:0:0:1', '::ffff:192.0.2.10', '::1'])(
    'accepts client_address %s and keeps it as sent (for logs)',
    (value) => {
      // Prepare
      const attrs = postfixAttributes({ client_address: value });
      // Act
      const parsed = parsePolicyRequest(attrs);
      // Assess
      expect(parsed.ok && parsed.request.clientAddress).toBe(value);
    },
  );

  it.each(['client_name', 'sender', 'recipient', 'instance', 'queue_id', 'helo_name', 'etrn_domain'])(
    'refuses %s longer than 512 characters, naming it, where Postgrey truncated',
    (field) => {
      // Prepare
      const attrs = postfixAttributes({ [field]: `${'a'.repeat(510)}@example.org` });
      // Act
      const parsed = parsePolicyRequest(attrs);
      // Assess
      expect(parsed).toMatchObject({ ok: false, code: 'invalid-attribute', field });
      expect(!parsed.ok && parsed.message).toMatch(/522 characters long; greygate accepts at most 512/);
    },
  );

  it('accepts a used attribute of exactly 512 characters', () => {
    // Prepare
    const recipient = `${'b'.repeat(500)}@example.org`;
    // Act
    const parsed = parsePolicyRequest(postfixAttributes({ recipient }));
    // Assess
    expect(recipient).toHaveLength(512);
    expect(parsed.ok && parsed.request.recipient).toBe(recipient);
  });

  it('ignores long attributes it does not use', () => {
    // Prepare
    const attrs = postfixAttributes({ ccert_subject: 'x'.repeat(2000) });
    // Act
    const parsed = parsePolicyRequest(attrs);
    // Assess
    expect(parsed.ok).toBe(true);
  });

  it('refuses a control character in a used attribute (it would reach replies and logs)', () => {
    // Prepare
    const attrs = postfixAttributes({ recipient: 'bob@example.org\nX-Injected: 1' });
    // Act
    const parsed = parsePolicyRequest(attrs);
    // Assess
    expect(parsed).toMatchObject({ ok: false, code: 'invalid-attribute', field: 'recipient' });
    expect(!parsed.ok && parsed.message).toMatch(/control character/);
  });

  it.each([
    ['1795832317', 1795832317],
    ['0', 0],
    ['-5', undefined],
    ['12.5', undefined],
    ['soon', undefined],
    ['', undefined],
    ['99999999999999999999', undefined],
  ])('reads policy_test_time %j as %j', (value, expected) => {
    // Prepare
    const attrs = postfixAttributes({ policy_test_time: value });
    // Act
    const parsed = parsePolicyRequest(attrs);
    // Assess
    expect(parsed.ok).toBe(true);
    expect(parsed.ok && parsed.request.policyTestTime).toBe(expected);
  });
});
