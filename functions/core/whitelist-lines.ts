// What the client and recipient whitelist files share: reading lines, telling `/regex/` entries.

/** Where a parsed entry came from: kept on every entry of either kind for warnings and listings. */
export interface EntryOrigin {
  /** The entry with its `#` comment removed and surrounding whitespace trimmed. */
  text: string;
  source: string;
  /** 1-based line number in the file, for warnings. */
  line: number;
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

/** A whitelist file's text, or a slice of it (the runtime reads large files in slices). */
export interface WhitelistFile {
  /** Where the text came from (a path), named in warnings. */
  source: string;
  text: string;
  /** The file's line number of the text's first line, when the text is a slice; 1 otherwise. */
  firstLine?: number;
}

/**
 * Reads a whitelist file of either kind as Postgrey did: a `#` starts a comment anywhere on a line
 * (even inside a regex), whitespace around the entry is ignored, empty lines are skipped. Each
 * entry is classified and handed over at once, so that a file of a million lines is never held
 * as a million entries.
 */
export function readWhitelistText<F extends { kind: string }>(
  file: WhitelistFile,
  classify: (entry: string) => Classified<F>,
  onEntry: (entry: EntryOrigin & F) => void,
  onWarning: (warning: string) => void,
): void {
  const { text, source } = file;
  let line = file.firstLine ?? 1;
  for (let start = 0; start <= text.length; line += 1) {
    const newline = text.indexOf('\n', start);
    const end = newline < 0 ? text.length : newline;
    const raw = text.slice(start, end);
    start = end + 1;
    const hash = raw.indexOf('#');
    const entry = (hash >= 0 ? raw.slice(0, hash) : raw).trim();
    if (entry === '') continue;
    const classified = classify(entry);
    if ('message' in classified && classified.kind === 'warning') onWarning(warningAt(source, line, classified.message));
    else onEntry({ text: entry, source, line, ...(classified as F) });
  }
}

/** Reads a whitelist file of either kind into its entries and warnings. */
export function parseWhitelistText<F extends { kind: string }>(
  text: string,
  source: string,
  classify: (entry: string) => Classified<F>,
): ParsedWhitelist<EntryOrigin & F> {
  const entries: Array<EntryOrigin & F> = [];
  const warnings: string[] = [];
  readWhitelistText(
    { text, source },
    classify,
    (entry) => entries.push(entry),
    (warning) => warnings.push(warning),
  );
  return { entries, warnings };
}
