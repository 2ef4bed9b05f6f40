// The loaded whitelists (steps 3–5 of postgrey.md §2), built once per (re)load from file texts.
// Reading the files, and warning `can't open` for missing ones, is the caller's job.

import { ClientWhitelistMatcher, parseClientWhitelist } from './client-whitelist.ts';
import type { ClientWhitelistEntry } from './client-whitelist.ts';
import { RecipientWhitelistMatcher, parseRecipientWhitelist } from './recipient-whitelist.ts';
import type { RecipientWhitelistEntry } from './recipient-whitelist.ts';

export interface Whitelists {
  /** Distinct usable entries, for a "loaded N entries" log line. */
  readonly counts: { readonly clients: number; readonly recipients: number };
  /** Steps 3 and 4: a client_name entry or an IP/network entry matches. */
  matchClient(clientName: string, clientAddress: string): boolean;
  /** Step 5. */
  matchRecipient(recipient: string): boolean;
}

export interface WhitelistFile {
  /** Where the text came from (a path), named in warnings. */
  source: string;
  text: string;
}

export function compileWhitelists(
  clientEntries: Iterable<ClientWhitelistEntry>,
  recipientEntries: Iterable<RecipientWhitelistEntry>,
): Whitelists {
  const clients = new ClientWhitelistMatcher(clientEntries);
  const recipients = new RecipientWhitelistMatcher(recipientEntries);
  return Object.freeze({
    counts: Object.freeze({ clients: clients.size, recipients: recipients.size }),
    matchClient: (clientName: string, clientAddress: string) =>
      clients.matchName(clientName) || clients.matchAddress(clientAddress),
    matchRecipient: (recipient: string) => recipients.matches(recipient),
  });
}

export const EMPTY_WHITELISTS: Whitelists = compileWhitelists([], []);

/** Parses every file and combines them; warnings name the file and line of each ignored entry. */
export function buildWhitelists(files: {
  clients: ReadonlyArray<WhitelistFile>;
  recipients: ReadonlyArray<WhitelistFile>;
}): { whitelists: Whitelists; warnings: string[] } {
  const warnings: string[] = [];
  const clientEntries: ClientWhitelistEntry[] = [];
  for (const file of files.clients) {
    const parsed = parseClientWhitelist(file.text, file.source);
    clientEntries.push(...parsed.entries);
    warnings.push(...parsed.warnings);
  }
  const recipientEntries: RecipientWhitelistEntry[] = [];
  for (const file of files.recipients) {
    const parsed = parseRecipientWhitelist(file.text, file.source);
    recipientEntries.push(...parsed.entries);
    warnings.push(...parsed.warnings);
  }
  return { whitelists: compileWhitelists(clientEntries, recipientEntries), warnings };
}
