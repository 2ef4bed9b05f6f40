// The loaded whitelists (steps 3–5 of postgrey.md §2), built once per (re)load from file texts.
// Reading the files, and warning `can't open` for missing ones, is the caller's job.

import { ClientWhitelistMatcher, classifyClientEntry } from './client-whitelist.ts';
import { RecipientWhitelistMatcher, classifyRecipientEntry } from './recipient-whitelist.ts';
import { readWhitelistText, type WhitelistFile } from './whitelist-lines.ts';

export type { WhitelistFile };

export interface Whitelists {
  /** Distinct usable entries, for a "loaded N entries" log line. */
  readonly counts: { readonly clients: number; readonly recipients: number };
  /** Steps 3 and 4: a client_name entry or an IP/network entry matches. */
  matchClient(clientName: string, clientAddress: string): boolean;
  /** Step 5. */
  matchRecipient(recipient: string): boolean;
}

function whitelistsOf(clients: ClientWhitelistMatcher, recipients: RecipientWhitelistMatcher): Whitelists {
  return Object.freeze({
    counts: Object.freeze({ clients: clients.size, recipients: recipients.size }),
    matchClient: (clientName: string, clientAddress: string) =>
      clients.matchName(clientName) || clients.matchAddress(clientAddress),
    matchRecipient: (recipient: string) => recipients.matches(recipient),
  });
}

export const EMPTY_WHITELISTS: Whitelists = whitelistsOf(new ClientWhitelistMatcher(), new RecipientWhitelistMatcher());

/** Ignored lines listed one by one per file; past this, the rest of that file's are counted. */
export const WARNINGS_PER_FILE = 100;

/**
 * Builds whitelists from files given one at a time, or in slices (each with its `firstLine`), so a
 * caller can let other work run between slices of a large file. Entries go straight into the
 * matchers: memory holds the lookup sets, not every parsed line.
 */
export class WhitelistBuilder {
  readonly #clients = new ClientWhitelistMatcher();
  readonly #recipients = new RecipientWhitelistMatcher();
  readonly #warnings: string[] = [];
  /** Ignored lines per source, listed or not. */
  readonly #ignored = new Map<string, number>();
  #built = false;

  addClients(file: WhitelistFile): void {
    this.#open();
    readWhitelistText(file, classifyClientEntry, (entry) => this.#clients.add(entry), (warning) => this.#warn(file.source, warning));
  }

  addRecipients(file: WhitelistFile): void {
    this.#open();
    readWhitelistText(file, classifyRecipientEntry, (entry) => this.#recipients.add(entry), (warning) => this.#warn(file.source, warning));
  }

  /** The whitelists, and the warnings in file order. The builder is done afterwards. */
  build(): { whitelists: Whitelists; warnings: string[] } {
    this.#open();
    this.#built = true;
    const warnings = this.#warnings;
    for (const [source, ignored] of this.#ignored) {
      if (ignored > WARNINGS_PER_FILE) {
        warnings.push(`${source}: ${ignored - WARNINGS_PER_FILE} more lines ignored (only the first ${WARNINGS_PER_FILE} are listed)`);
      }
    }
    return { whitelists: whitelistsOf(this.#clients, this.#recipients), warnings };
  }

  #open(): void {
    // The matchers become the live whitelists: adding to them later would change a list in use.
    if (this.#built) throw new Error('these whitelists are built already');
  }

  #warn(source: string, warning: string): void {
    const ignored = (this.#ignored.get(source) ?? 0) + 1;
    this.#ignored.set(source, ignored);
    if (ignored <= WARNINGS_PER_FILE) this.#warnings.push(warning);
  }
}

/** Parses every file and combines them; warnings name the file and line of each ignored entry. */
export function buildWhitelists(files: {
  clients: ReadonlyArray<WhitelistFile>;
  recipients: ReadonlyArray<WhitelistFile>;
}): { whitelists: Whitelists; warnings: string[] } {
  const builder = new WhitelistBuilder();
  for (const file of files.clients) builder.addClients(file);
  for (const file of files.recipients) builder.addRecipients(file);
  return builder.build();
}
