// What the client and recipient whitelist files share: reading lines, telling `/regex/` entries.

export interface WhitelistLine {
  /** The entry with its `#` comment removed and surrounding whitespace trimmed. */
  text: string;
  /** 1-based line number in the file, for warnings. */
  line: number;
}

/** Where a parsed entry came from: kept on every entry of either kind for warnings and listings. */
export interface EntryOrigin extends WhitelistLine {
  source: string;
}

/**
 * Postgrey's reading of a whitelist file: a `#` starts a comment anywhere on a line (even inside
 * a regex), whitespace around the entry is ignored, empty lines are skipped.
 */
export function whitelistLines(text: string): WhitelistLine[] {
  const lines: WhitelistLine[] = [];
  text.split('\n').forEach((raw, index) => {
    const hash = raw.indexOf('#');
    const entry = (hash >= 0 ? raw.slice(0, hash) : raw).trim();
    if (entry !== '') lines.push({ text: entry, line: index + 1 });
  });
  return lines;
}

/** `/regex/` with no whitespace inside; returns the body, or null when the entry is no regex. */
export function regexBody(entry: string): string | null {
  const match = /^\/(\S+)\/$/.exec(entry);
  return match?.[1] ?? null;
}

export function warningAt(source: string, line: number, message: string): string {
  return `${source} line ${line}: ${message}`;
}

export interface ParsedWhitelist<T> {
  entries: T[];
  warnings: string[];
}

/** An entry's reading: its form, or why it is ignored. */
export type Classified<F> = F | { kind: 'warning'; message: string };

/** Reads a whitelist file of either kind: each entry classified, warnings naming file and line. */
export function parseWhitelistText<F extends { kind: string }>(
  text: string,
  source: string,
  classify: (entry: string) => Classified<F>,
): ParsedWhitelist<EntryOrigin & F> {
  const entries: Array<EntryOrigin & F> = [];
  const warnings: string[] = [];
  for (const { text: entry, line } of whitelistLines(text)) {
    const classified = classify(entry);
    if ('message' in classified && classified.kind === 'warning') warnings.push(warningAt(source, line, classified.message));
    else entries.push({ text: entry, source, line, ...(classified as F) });
  }
  return { entries, warnings };
}
