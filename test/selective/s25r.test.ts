// The S25R rule set as an admin would check it: which names each rule catches and which it must
// leave alone, how real mail servers' names are judged, and the IPv6 choice.

import { describe, expect, it } from 'vitest';
import { classifyClientName } from '../../functions/selective/s25r.ts';
import { S25R_DYNAMIC_PATTERNS, S25R_EXCEPTIONS, S25R_RULES, S25R_RULESET_VERSION } from '../../functions/selective/s25r-rules.ts';

const v4 = '192.0.2.10';
const apply = { ipv6: 'apply' } as const;

describe('S25R generic rules', () => {
  it.each([
    // rule, name that matches, name that must not
    [0, 'unknown', 'unknown.example.net'],
    [0, 'UNKNOWN', 'mx.example.net'],
    [1, 'p1234-ipad56.example.ne.jp', 'mail2.example.net'],
    [1, 'c-73-22-33-44.hsd1.il.comcast.net', 'mx-1.example.net'],
    [1, 'pool-71-1-2-3.nycmny.fios.verizon.net', 'smtp01.example.com'],
    [2, 'softbank126123045067.bbtec.net', 'mx1234.example.com'],
    [2, 'kd059133029010.ppp-bb.dion.ne.jp', 'mail.12345.example.com'],
    [3, '123.45.example.co.jp', '1mail.example.com'],
    [3, 'host.5-6.example.co.jp', 'host.mail5.example.co.jp'],
    [4, 'host1.abc12-34.example.com', 'host.abc12-34.example.com'],
    [5, 'mx1.server2.example.co.uk', 'mx1.server2.example.uk'],
    [6, 'dhcpabc7.isp.example', 'dhcp.isp.example'],
    [6, 'ppp7.isp.example', 'pppx.isp.example'],
    [6, 'adsl-1.isp.example', 'bdsl-1.isp.example'],
  ] as const)('rule %i catches %s and not %s', (rule, suspicious, clean) => {
    // Act
    const hit = classifyClientName(suspicious, v4, apply);
    const miss = classifyClientName(clean, v4, apply);

    // Assess
    expect(hit).toEqual({ suspicious: true, rule });
    expect(S25R_RULES.find((r) => r.rule === rule)?.pattern.test(clean)).toBe(false);
    expect(miss.suspicious).toBe(false);
  });

  it('reports the lowest matching rule when several match', () => {
    // Prepare: rules 1 and 5 both match a Comcast-style name
    const name = 'c-73-22-33-44.hsd1.il.comcast.net';

    // Act
    const matching = S25R_RULES.filter((r) => r.pattern.test(name)).map((r) => r.rule);
    const result = classifyClientName(name, v4, apply);

    // Assess
    expect(matching).toEqual([1, 5]);
    expect(result.rule).toBe(1);
  });

  it('ignores case and a trailing dot, and treats an empty name like unknown', () => {
    expect(classifyClientName('P1234-IPAD56.Example.NE.JP.', v4, apply)).toEqual({ suspicious: true, rule: 1 });
    expect(classifyClientName('', v4, apply)).toEqual({ suspicious: true, rule: 0 });
  });

  it('leaves well-named mail servers alone', () => {
    for (const name of ['mx.example.net', 'mail.example.net', 'mout.gmx.net', 'mail.1und1.de', 'mx01.mail.example.com', 'mail135.atl121.mcdlv.net']) {
      expect(classifyClientName(name, v4, apply), name).toEqual({ suspicious: false });
    }
  });
});

describe('S25R and real mail servers', () => {
  it.each([
    // name, the rule that catches it, the exception that clears it
    ['mail-ej1-f54.google.com', 1, 'google'],
    ['mail-qt1-x82c.google.com', 1, 'google'],
    ['a8-12.smtp-out.amazonses.com', 1, 'amazonses'],
    ['e226-55.smtp-out.us-east-2.amazonses.com', 1, 'amazonses'],
    ['mail-am6eur05on2101.outbound.protection.outlook.com', 1, 'outlook'],
    ['sonic301-20.consmr.mail.bf2.yahoo.com', 1, 'yahoo'],
    ['66-220-144-178.mail-mail.facebook.com', 1, 'facebook'],
    ['mail187-12.suw21.mandrillapp.com', 1, 'mandrill'],
  ] as const)('%s matches rule %i and is cleared by the %s exception', (name, rule, exception) => {
    // Act
    const result = classifyClientName(name, v4, apply);

    // Assess
    expect(S25R_RULES.find((r) => r.pattern.test(name))?.rule).toBe(rule);
    expect(result).toEqual({ suspicious: false, rule, exception });
  });

  it('matches a Google name without a digit group before the hyphen to no rule at all', () => {
    expect(classifyClientName('mail-sor-f41.google.com', v4, apply)).toEqual({ suspicious: false });
  });

  it('does not let an exception clear a look-alike under another domain', () => {
    expect(classifyClientName('mail-ej1-f54.google.com.evil.example', v4, apply)).toEqual({ suspicious: true, rule: 1 });
    expect(classifyClientName('a8-12.smtp-out.amazonses.com.example.net', v4, apply)).toEqual({ suspicious: true, rule: 1 });
  });

  it('documents every exception with an example it clears, the rules it needs, a date and a reason', () => {
    for (const e of S25R_EXCEPTIONS) {
      const matched = S25R_RULES.filter((r) => r.pattern.test(e.example)).map((r) => r.rule);
      expect(matched, e.id).toEqual(e.matches);
      expect(classifyClientName(e.example, v4, apply).exception, e.id).toBe(e.id);
      expect(e.added, e.id).toMatch(/^\d{4}-\d\d-\d\d$/);
      expect(e.why.length, e.id).toBeGreaterThan(20);
    }
  });
});

describe('S25R dynamic-pool patterns', () => {
  it.each([
    ['pd9eabcde.dip0.t-ipconnect.de', 't-dialin'],
    ['pd9eabcde.dip.t-dialin.net', 't-dialin'],
    ['ool-4353abcd.dyn.optonline.net', 'optonline'],
    ['acbeabcd.ipt.aol.com', 'aol-ipt'],
    ['ipabcdef.cable.wanadoo.nl', 'wanadoo-nl'],
    ['dslb-abc-def.pppool.de', 'pppool-de'],
    ['bdd123.neoplus.adsl.tpnet.pl', 'tpnet-pl'],
    ['host-abc.dynamic.isp.example', 'generic-dynamic-label'],
    ['abc.dhcp.campus.example.edu', 'generic-dynamic-label'],
  ])('%s escapes rules 0-6 and is caught by %s', (name, pattern) => {
    // Act
    const result = classifyClientName(name, v4, apply);

    // Assess
    expect(S25R_RULES.some((r) => r.pattern.test(name))).toBe(false);
    expect(result).toEqual({ suspicious: true, rule: 'dynamic-pattern', pattern });
  });

  it('reports a generic rule rather than the pattern when both match', () => {
    expect(classifyClientName('ool-182e2345.dyn.optonline.net', v4, apply)).toEqual({ suspicious: true, rule: 1 });
  });

  it.each(['dsl.example.com', 'mail.dyn.com', 'smtp.dynamics.example.com', 'mx.adslwatch.example'])(
    'leaves %s alone: a pool word only counts as an inner label',
    (name) => {
      expect(classifyClientName(name, v4, apply)).toEqual({ suspicious: false });
    },
  );

  it('tests every pattern against its own example', () => {
    for (const p of S25R_DYNAMIC_PATTERNS) {
      expect(p.pattern.test(p.example), p.id).toBe(true);
      expect(p.added, p.id).toMatch(/^\d{4}-\d\d-\d\d$/);
    }
    expect(S25R_RULESET_VERSION).toMatch(/^\d{4}-\d\d-\d\d$/);
  });
});

describe('S25R for IPv6 clients', () => {
  it('applies the rules to IPv6 clients with ipv6: apply', () => {
    expect(classifyClientName('unknown', '2001:db8::25', apply)).toEqual({ suspicious: true, rule: 0 });
    expect(classifyClientName('2001-db8-0-1.ipv6.isp.example', '2001:db8::25', apply)).toEqual({ suspicious: true, rule: 1 });
  });

  it('never calls an IPv6 client suspicious with ipv6: skip, but still judges IPv4 and IPv4-mapped clients', () => {
    // Act
    const v6 = classifyClientName('unknown', '2001:db8::25', { ipv6: 'skip' });
    const plain4 = classifyClientName('unknown', v4, { ipv6: 'skip' });
    const mapped4 = classifyClientName('unknown', '::ffff:192.0.2.10', { ipv6: 'skip' });

    // Assess
    expect(v6).toEqual({ suspicious: false, skipped: 'ipv6' });
    expect(plain4).toEqual({ suspicious: true, rule: 0 });
    expect(mapped4).toEqual({ suspicious: true, rule: 0 });
  });
});
