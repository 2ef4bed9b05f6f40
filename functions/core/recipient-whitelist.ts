// Recipient whitelist files (postgrey.md §3), Postfix access(5)-like entries matched against the
// raw recipient, case-insensitively.

import { asciiLower } from './text.ts';
import { compileWhitelistRegex } from './whitelist-regex.ts';
import {
  parseWhitelistText,
  regexBody,
  type Classified as ClassifiedAs,
  type EntryOrigin,
  type ParsedWhitelist,
} from './whitelist-lines.ts';

/** Users and domains are stored lower-cased; regexes case-folded (whitelist-regex.ts). */
type EntryForm =
  | { kind: 'regex'; pattern: RegExp }
  /** `user@domain`: also `user+ext@domain`. */
  | { kind: 'address'; user: string; domain: string }
  /** `user@`: that user, with or without `+ext`, at any domain. */
  | { kind: 'user'; user: string }
  /** `domain`: the domain or any subdomain, as `(@|\.)domain$`. */
  | { kind: 'domain'; domain: string };

export type RecipientWhitelistEntry = EntryOrigin & EntryForm;

type Classified = ClassifiedAs<EntryForm>;

export function classifyRecipientEntry(text: string): Classified {
  const body = regexBody(text);
  if (body !== null) {
    const compiled = compileWhitelistRegex(body);
    if (typeof compiled === 'string') {
      return { kind: 'warning', message: `${JSON.stringify(text)} ${compiled}; entry ignored` };
    }
    return { kind: 'regex', pattern: compiled };
  }
  if (/\s/.test(text)) {
    return { kind: 'warning', message: `doesn't look like an address: ${JSON.stringify(text)}; entry ignored` };
  }
  const lower = asciiLower(text);
  const at = lower.indexOf('@');
  if (at < 0) return { kind: 'domain', domain: lower };
  const user = lower.slice(0, at);
  const domain = lower.slice(at + 1);
  return domain === '' ? { kind: 'user', user } : { kind: 'address', user, domain };
}

export function parseRecipientWhitelist(text: string, source: string): ParsedWhitelist<RecipientWhitelistEntry> {
  return parseWhitelistText(text, source, classifyRecipientEntry);
}

/**
 * The user parts a local part can stand for under Postgrey's `^user(\+[^@]+)?@`: the local part
 * itself, and each prefix that is followed by `+` and at least one more character.
 */
function userCandidates(local: string): string[] {
  const candidates = [local];
  for (let plus = local.indexOf('+'); plus >= 0; plus = local.indexOf('+', plus + 1)) {
    if (plus < local.length - 1) candidates.push(local.slice(0, plus));
  }
  return candidates;
}

/** Recipient entries compiled for matching; only `/regex/` entries are tested one by one. */
export class RecipientWhitelistMatcher {
  readonly #regexes: RegExp[] = [];
  readonly #addresses = new Set<string>();
  readonly #users = new Set<string>();
  readonly #domains = new Set<string>();

  constructor(entries: Iterable<RecipientWhitelistEntry> = []) {
    for (const entry of entries) this.add(entry);
  }

  /** For whoever builds the matcher (whitelist.ts); a matcher in use is not changed any more. */
  add(entry: RecipientWhitelistEntry): void {
    if (entry.kind === 'regex') this.#regexes.push(entry.pattern);
    else if (entry.kind === 'address') this.#addresses.add(`${entry.user}@${entry.domain}`);
    else if (entry.kind === 'user') this.#users.add(entry.user);
    else this.#domains.add(entry.domain);
  }

  get size(): number {
    return this.#regexes.length + this.#addresses.size + this.#users.size + this.#domains.size;
  }

  matches(recipient: string): boolean {
    const lower = asciiLower(recipient);
    for (const pattern of this.#regexes) {
      if (pattern.test(lower)) return true;
    }
    const at = lower.indexOf('@');
    if (at >= 0 && (this.#users.size > 0 || this.#addresses.size > 0)) {
      // The `@` after `user(+ext)?` is the first one: the extension cannot contain `@`.
      const domain = lower.slice(at + 1);
      for (const user of userCandidates(lower.slice(0, at))) {
        if (this.#users.has(user) || this.#addresses.has(`${user}@${domain}`)) return true;
      }
    }
    if (this.#domains.size > 0) {
      for (let i = 0; i < lower.length; i += 1) {
        const ch = lower[i];
        if ((ch === '@' || ch === '.') && this.#domains.has(lower.slice(i + 1))) return true;
      }
    }
    return false;
  }
}
