// The texts of greylist and pass answers (steps 11 and 12 of postgrey.md §2). Unlike Postgrey,
// which replaced only the first occurrence of each placeholder, every occurrence is replaced, in a
// single pass so that a substituted value (a recipient domain, a hostname) is never re-scanned.

import { formatHeaderDate } from './header-date.ts';
import type { PolicyConfig } from './policy-config.ts';
import { recipientDomain } from './text.ts';

function substitute(template: string, values: Readonly<Record<string, string>>): string {
  const parts = compiled(template);
  let text = parts[0] ?? '';
  for (let i = 1; i < parts.length; i += 2) {
    const letter = parts[i] ?? '';
    text += (values[letter] ?? `%${letter}`) + (parts[i + 1] ?? '');
  }
  return text;
}

/**
 * A template split once into text and placeholder letters, alternating (text, letter, text, …):
 * every answer fills one, and templates come from the configuration, so there are only a few.
 */
function compiled(template: string): readonly string[] {
  let parts = compiledTemplates.get(template);
  if (parts === undefined) {
    parts = template.split(/%([a-z])/);
    if (compiledTemplates.size >= MAX_COMPILED_TEMPLATES) compiledTemplates.clear();
    compiledTemplates.set(template, parts);
  }
  return parts;
}

const compiledTemplates = new Map<string, readonly string[]>();
const MAX_COMPILED_TEMPLATES = 64;

/**
 * `<greylist-action> <text>`. The `4.2.0 ` DSN prefix works around an Exchange bug with Postfix's
 * default 4.7.1; Postgrey adds it whenever Postfix sent `etrn_domain` at all (Postfix ≥ 2.3 always
 * does), unless the admin's text already starts with a digit (their own status code).
 */
export function greylistAction(
  config: Pick<PolicyConfig, 'greylistAction' | 'greylistText'>,
  retryAfterSeconds: number,
  recipient: string,
  etrnDomainPresent: boolean,
): string {
  const withDsn =
    etrnDomainPresent && !/^\d/.test(config.greylistText) ? `4.2.0 ${config.greylistText}` : config.greylistText;
  const text = substitute(withDsn, { s: String(retryAfterSeconds), r: recipientDomain(recipient) });
  return `${config.greylistAction} ${text}`;
}

/**
 * The X-Greylist header of a first pass. `%d` uses `realNow`, the real clock, even when
 * policy_test_time moved the decision's `now` — as Postgrey did.
 */
export function passHeader(
  config: Pick<PolicyConfig, 'xGreylistHeader' | 'version' | 'hostname' | 'timeZone'>,
  delayedSeconds: number,
  realNow: number,
): string {
  const values: Record<string, string> = { t: String(delayedSeconds), v: config.version, h: config.hostname };
  // Formatting a date costs more than the rest of the decision; only do it when the text asks.
  if (config.xGreylistHeader.includes('%d')) values.d = formatHeaderDate(realNow, config.timeZone);
  return substitute(config.xGreylistHeader, values);
}
