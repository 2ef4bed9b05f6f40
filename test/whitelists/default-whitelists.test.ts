// The whitelist files greygate ships (whitelists/clients, whitelists/recipients), checked the way an
// admin would before trusting them: they load without warnings, every entry says when and why it
// was added, nothing is listed twice, and the senders they are meant for do match while a random
// host does not.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildWhitelists, parseClientWhitelist, parseRecipientWhitelist } from '../../functions/core/index.ts';

const CLIENTS_PATH = 'whitelists/clients';
const RECIPIENTS_PATH = 'whitelists/recipients';

function readShipped(path: string): string {
  return readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');
}

const clientsText = readShipped(CLIENTS_PATH);
const recipientsText = readShipped(RECIPIENTS_PATH);

const DATE = /\b(\d{4})-(\d{2})-(\d{2})\b/;

interface EntryLine {
  line: number;
  entry: string;
  /** The entry's own `#` comment plus the comment lines directly above it. */
  comment: string;
}

/** Each entry line with the comment that documents it: inline, or the comment block right above. */
function entriesWithComments(text: string): EntryLine[] {
  const lines = text.split('\n');
  const result: EntryLine[] = [];
  lines.forEach((raw, index) => {
    const hash = raw.indexOf('#');
    const entry = (hash >= 0 ? raw.slice(0, hash) : raw).trim();
    if (entry === '') return;
    const above: string[] = [];
    for (let i = index - 1; i >= 0 && (lines[i] ?? '').trim().startsWith('#'); i -= 1) {
      above.unshift(lines[i] ?? '');
    }
    const inline = hash >= 0 ? raw.slice(hash) : '';
    result.push({ line: index + 1, entry, comment: [...above, inline].join('\n') });
  });
  return result;
}

function isRealDate(comment: string): boolean {
  const m = DATE.exec(comment);
  if (m === null) return false;
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const date = new Date(Date.UTC(year, month - 1, day));
  return date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}

describe('shipped whitelist files', () => {
  it('load without a single warning', () => {
    // Prepare
    const files = {
      clients: [{ source: CLIENTS_PATH, text: clientsText }],
      recipients: [{ source: RECIPIENTS_PATH, text: recipientsText }],
    };

    // Act
    const { whitelists, warnings } = buildWhitelists(files);

    // Assess
    expect(warnings).toEqual([]);
    expect(whitelists.counts.clients).toBeGreaterThan(30);
    expect(whitelists.counts.recipients).toBe(2);
  });

  it('turn every non-comment line into an entry (no line is silently dropped)', () => {
    // Prepare
    const clientLines = entriesWithComments(clientsText).length;
    const recipientLines = entriesWithComments(recipientsText).length;

    // Act
    const clients = parseClientWhitelist(clientsText, CLIENTS_PATH);
    const recipients = parseRecipientWhitelist(recipientsText, RECIPIENTS_PATH);

    // Assess
    expect(clients.entries).toHaveLength(clientLines);
    expect(recipients.entries).toHaveLength(recipientLines);
  });

  it.each([
    [CLIENTS_PATH, clientsText],
    [RECIPIENTS_PATH, recipientsText],
  ])('%s: every entry has a dated comment on its line or directly above it', (_path, text) => {
    // Prepare
    const entries = entriesWithComments(text);

    // Act
    const undated = entries.filter((e) => !isRealDate(e.comment)).map((e) => `line ${e.line}: ${e.entry}`);

    // Assess
    expect(entries.length).toBeGreaterThan(0);
    expect(undated).toEqual([]);
  });

  it('client entries each say why they are listed and what public fact backs them', () => {
    // Prepare
    const reasons = /big pool|no retry|slow retry|unique sender per mail/i;

    // Act
    const unexplained = entriesWithComments(clientsText)
      .filter((e) => !reasons.test(e.comment) || !/source:/i.test(e.comment))
      .map((e) => `line ${e.line}: ${e.entry}`);

    // Assess
    expect(unexplained).toEqual([]);
  });

  it.each([
    [CLIENTS_PATH, clientsText],
    [RECIPIENTS_PATH, recipientsText],
  ])('%s: lists no entry twice', (_path, text) => {
    // Prepare
    const entries = entriesWithComments(text).map((e) => e.entry.toLowerCase());

    // Act
    const duplicates = entries.filter((entry, index) => entries.indexOf(entry) !== index);

    // Assess
    expect(duplicates).toEqual([]);
  });
});

describe('shipped client whitelist matches', () => {
  const { whitelists } = buildWhitelists({
    clients: [{ source: CLIENTS_PATH, text: clientsText }],
    recipients: [],
  });

  it.each([
    ['Gmail', 'mail-ej1-f54.google.com', '209.85.218.54'],
    ['Microsoft 365', 'mail-db8eur05on2089.outbound.protection.outlook.com', '40.107.22.89'],
    ['Microsoft 365 without a verified name', 'unknown', '40.107.22.89'],
    ['Amazon SES in a region', 'a4-10.smtp-out.eu-west-1.amazonses.com', '54.240.4.10'],
    ['Yahoo', 'sonic309-27.consmr.mail.ne1.yahoo.com', '66.163.184.153'],
    ['Cloudflare Email Routing over IPv6, no verified name', 'unknown', '2405:8100:c000::17'],
    ['LinkedIn', 'mailb-ge.linkedin.com', '2620:119:50c0:207::149'],
  ])('lets %s through', (_who, clientName, clientAddress) => {
    // Act
    const matched = whitelists.matchClient(clientName, clientAddress);

    // Assess
    expect(matched).toBe(true);
  });

  it.each([
    ['an ordinary host', 'mx.example.net', '198.51.100.7'],
    ['a client without reverse DNS', 'unknown', '198.51.100.7'],
    ['a name that only embeds a listed one', 'mail-x.google.com.attacker.example', '198.51.100.7'],
    ['a name that merely ends in the same letters', 'notamazonses.com', '198.51.100.7'],
    ['a google.com host that is not a mail server', 'accounts.google.com', '198.51.100.7'],
  ])('still greylists %s', (_who, clientName, clientAddress) => {
    // Act
    const matched = whitelists.matchClient(clientName, clientAddress);

    // Assess
    expect(matched).toBe(false);
  });
});

describe('shipped recipient whitelist matches', () => {
  const { whitelists } = buildWhitelists({
    clients: [],
    recipients: [{ source: RECIPIENTS_PATH, text: recipientsText }],
  });

  it.each(['postmaster@example.org', 'POSTMASTER@Example.ORG', 'Abuse+x@example.org', 'abuse@sub.example.net'])(
    'never greylists mail to %s',
    (recipient) => {
      // Act
      const matched = whitelists.matchRecipient(recipient);

      // Assess
      expect(matched).toBe(true);
    },
  );

  it.each(['bob@example.org', 'postmaster-bounces@example.org', 'abuse.desk@example.org'])(
    'greylists mail to %s as usual',
    (recipient) => {
      // Act
      const matched = whitelists.matchRecipient(recipient);

      // Assess
      expect(matched).toBe(false);
    },
  );
});
