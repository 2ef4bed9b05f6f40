// The S25R rule set as versioned data (peers.md §4). S25R, by Asami Hideo, judges a client only by
// its verified reverse-DNS name: end-user and dynamic-pool machines are named after their address
// (`p1234-ipad56.example.ne.jp`), real mail servers usually are not. Greygate greylists only the
// clients the rules call suspicious (`--selective s25r`), or counts a match as one weighted signal
// (`--selective score`).
//
// Change the data here, bump S25R_RULESET_VERSION, and extend test/selective/s25r.test.ts with the
// names that motivated the change. Patterns are matched against the lower-cased name.

import type { S25rRuleNumber } from '../core/signals.ts';

export type { S25rRuleNumber };

/**
 * Bumped whenever a rule, dynamic pattern or exception changes, so a log line or a support
 * question can say which rule set judged a client. Format: the date of the change.
 */
export const S25R_RULESET_VERSION = '2026-11-28';

export interface S25rRule {
  rule: S25rRuleNumber;
  pattern: RegExp;
  meaning: string;
}

/**
 * The generic rules, exactly as published (Postfix regexp form, case-insensitive). A name is
 * suspicious when any of them matches; the lowest matching number is reported.
 */
export const S25R_RULES: readonly S25rRule[] = Object.freeze([
  { rule: 0, pattern: /^unknown$/i, meaning: 'no usable reverse DNS (Postfix reports `unknown`)' },
  {
    rule: 1,
    pattern: /^[^.]*[0-9][^0-9.]+[0-9].*\./i,
    meaning: 'the first label holds two digit groups split by non-digits, e.g. p1022-ipad208.example.ne.jp',
  },
  { rule: 2, pattern: /^[^.]*[0-9]{5}/i, meaning: 'the first label holds five or more digits in a row' },
  {
    rule: 3,
    pattern: /^([^.]+\.)?[0-9][^.]*\.[^.]+\..+\.[a-z]/i,
    meaning: 'below the top three levels, the first or second label starts with a digit',
  },
  {
    rule: 4,
    pattern: /^[^.]*[0-9]\.[^.]*[0-9]-[0-9]/i,
    meaning: 'the first label ends in a digit and the second holds digit groups joined by a hyphen',
  },
  {
    rule: 5,
    pattern: /^[^.]*[0-9]\.[^.]*[0-9]\.[^.]+\..+\./i,
    meaning: 'five or more levels, and the two lowest labels both end in a digit',
  },
  {
    rule: 6,
    pattern: /^(dhcp|dialup|ppp|[achrsvx]?dsl)[^.]*[0-9]/i,
    meaning: 'the first label starts with dhcp, dialup, ppp or *dsl and holds a digit',
  },
]);

export interface S25rNamedPattern {
  /** Short, stable id: it appears in decisions and log lines. */
  id: string;
  pattern: RegExp;
  /** A name the pattern is there for (tested). */
  example: string;
  /** When the entry was added or last changed (YYYY-MM-DD). */
  added: string;
  why: string;
}

/**
 * Dynamic-pool names the generic rules miss. Deployments of S25R have always kept such a list; the
 * usual gap is a pool that encodes the address in hex (one digit group, or none), which rule 1
 * cannot see.
 */
export const S25R_DYNAMIC_PATTERNS: readonly S25rNamedPattern[] = Object.freeze([
  {
    id: 't-dialin',
    pattern: /\.dip0?\.t-(dialin\.net|ipconnect\.de)$/i,
    example: 'pd9eabcde.dip0.t-ipconnect.de',
    added: '2026-11-28',
    why: "Deutsche Telekom's dynamic pool (`dip`): the address in hex, so a label like pD9EABCDE has one digit group and escapes rule 1. Listed in the original S25R extra rules (t-dialin.net) and kept for the current t-ipconnect.de name.",
  },
  {
    id: 'optonline',
    pattern: /\.dyn\.optonline\.net$/i,
    example: 'ool-4353abcd.dyn.optonline.net',
    added: '2026-11-28',
    why: 'Optimum Online residential pool: `ool-` plus the address in hex; one digit group escapes rule 1.',
  },
  {
    id: 'aol-ipt',
    pattern: /\.ipt\.aol\.com$/i,
    example: 'acbeabcd.ipt.aol.com',
    added: '2026-11-28',
    why: "AOL's dial-up pool: the address in hex as the whole first label.",
  },
  {
    id: 'wanadoo-nl',
    pattern: /\.(adsl|cable)\.wanadoo\.nl$/i,
    example: 'ipabcdef.adsl.wanadoo.nl',
    added: '2026-11-28',
    why: 'Wanadoo (Orange) Netherlands ADSL and cable customers; the first label is hex.',
  },
  {
    id: 'pppool-de',
    pattern: /\.pppool\.de$/i,
    example: 'dslb-abc-def.pppool.de',
    added: '2026-11-28',
    why: 'A German dial-up/DSL pool domain (the name says so: PPP pool); names carry the address in hex or words.',
  },
  {
    id: 'tpnet-pl',
    pattern: /\.(internetdsl|adsl|sdi)\.tpnet\.pl$/i,
    example: 'bdd123.neoplus.adsl.tpnet.pl',
    added: '2026-11-28',
    why: "Orange Polska (TP) consumer DSL/SDI pools, long a large source of bot mail; its hex labels escape rules 1-6.",
  },
  {
    id: 'generic-dynamic-label',
    pattern: /\.(dynamic|dyn|dynip|dhcp|dialup|dial-up|ppp|pppoe|dsl|adsl|vdsl|xdsl)\.[^.]+\.[^.]+/i,
    example: 'host-abc.dynamic.isp.example',
    added: '2026-11-28',
    why: 'A whole label naming a dynamic or consumer pool, as the generic-naming draft for ISPs recommends (draft-msullivan-dnsop-generic-naming-schemes). Only an inner label counts: a host label before it (a host merely called `dsl.example.com` is not judged by its own name) and two labels after it (a provider whose domain is e.g. dyn.com is not caught by its second-level name).',
  },
]);

export interface S25rException extends S25rNamedPattern {
  /** The rules this operator's real mail-server names are known to match. */
  matches: readonly S25rRuleNumber[];
}

/**
 * Real mail servers whose outbound names match a rule by accident. Each entry: which rule catches
 * them, an example, and the date. An admin adds local ones with --whitelist-clients, which runs
 * before selective greylisting; this list is for names every deployment meets.
 */
export const S25R_EXCEPTIONS: readonly S25rException[] = Object.freeze([
  {
    id: 'google',
    pattern: /^mail-[a-z0-9]+-[a-z0-9]+\.google\.com$/i,
    example: 'mail-ej1-f54.google.com',
    matches: [1],
    added: '2026-11-28',
    why: 'Gmail and Google Workspace outbound (`mail-ej1-f54`, IPv6 `mail-qt1-x82c`): `1-f5` is two digit groups split by non-digits, rule 1. Forms without a digit before the hyphen (`mail-sor-f41`) match no rule.',
  },
  {
    id: 'outlook',
    pattern: /\.outbound\.protection\.outlook\.com$/i,
    example: 'mail-am6eur05on2101.outbound.protection.outlook.com',
    matches: [1],
    added: '2026-11-28',
    why: 'Microsoft 365 / Exchange Online Protection outbound: `6eur0` in the first label, rule 1.',
  },
  {
    id: 'amazonses',
    pattern: /\.smtp-out\.([a-z0-9-]+\.)?amazonses\.com$/i,
    example: 'a8-12.smtp-out.amazonses.com',
    matches: [1],
    added: '2026-11-28',
    why: 'Amazon SES outbound (`a8-12`, regional `e226-55.smtp-out.us-east-2.amazonses.com`): digits, hyphen, digits, rule 1.',
  },
  {
    id: 'yahoo',
    pattern: /\.mail\.[a-z0-9]+\.yahoo\.com$/i,
    example: 'sonic301-20.consmr.mail.bf2.yahoo.com',
    matches: [1],
    added: '2026-11-28',
    why: 'Yahoo / AOL Mail outbound (`sonic301-20`): rule 1.',
  },
  {
    id: 'facebook',
    pattern: /\.mail-mail\.facebook\.com$/i,
    example: '66-220-144-178.mail-mail.facebook.com',
    matches: [1, 3],
    added: '2026-11-28',
    why: "Facebook's notification mail servers are named after their address: rules 1 and 3.",
  },
  {
    id: 'mandrill',
    pattern: /\.mandrillapp\.com$/i,
    example: 'mail187-12.suw21.mandrillapp.com',
    matches: [1],
    added: '2026-11-28',
    why: "Mailchimp's transactional service (Mandrill): `187-1` in the first label, rule 1.",
  },
]);
