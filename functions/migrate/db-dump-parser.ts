// Reads the printable output of Berkeley DB's `db_dump -p` (Debian's db-util): header lines up to
// HEADER=END, then one line per key and one per value, each starting with a space, until DATA=END.
// Bytes outside printable ASCII and the backslash itself are written as `\xx` (two hex digits).
// Postgrey's files are read this way rather than by parsing the file format ourselves.

export interface DbDump {
  header: Map<string, string>;
  entries: Array<[key: string, value: string]>;
}

export class DbDumpFormatError extends Error {
  constructor(message: string) {
    super(`db_dump output not understood: ${message}`);
    this.name = 'DbDumpFormatError';
  }
}

/** Undoes db_dump -p's escapes; the bytes are decoded as UTF-8 (Postgrey writes text). */
export function unescapeDbDumpLine(line: string, lineNumber: number): string {
  const bytes: number[] = [];
  for (let i = 0; i < line.length; i += 1) {
    const ch = line.charCodeAt(i);
    if (ch !== 0x5c) {
      bytes.push(...Buffer.from(line[i] ?? '', 'utf8'));
      continue;
    }
    if (line[i + 1] === '\\') {
      bytes.push(0x5c);
      i += 1;
      continue;
    }
    const hex = line.slice(i + 1, i + 3);
    if (!/^[0-9a-fA-F]{2}$/.test(hex)) throw new DbDumpFormatError(`line ${lineNumber}: bad escape "\\${hex}"`);
    bytes.push(Number.parseInt(hex, 16));
    i += 2;
  }
  return Buffer.from(bytes).toString('utf8');
}

export function parseDbDump(text: string): DbDump {
  const lines = text.split('\n');
  const header = new Map<string, string>();
  let i = 0;
  for (; i < lines.length; i += 1) {
    const line = lines[i] ?? '';
    if (line === 'HEADER=END') break;
    const eq = line.indexOf('=');
    if (eq <= 0) throw new DbDumpFormatError(`line ${i + 1}: expected a header line NAME=VALUE, got "${line}"`);
    header.set(line.slice(0, eq), line.slice(eq + 1));
  }
  if (i >= lines.length) throw new DbDumpFormatError('no HEADER=END line');
  if (header.get('format') !== 'print') {
    throw new DbDumpFormatError(`format=${header.get('format') ?? '(none)'}; run db_dump with -p`);
  }
  const entries: Array<[string, string]> = [];
  let pendingKey: string | null = null;
  for (i += 1; i < lines.length; i += 1) {
    const line = lines[i] ?? '';
    if (line === 'DATA=END') {
      if (pendingKey !== null) throw new DbDumpFormatError(`key "${pendingKey}" has no value line`);
      return { header, entries };
    }
    if (!line.startsWith(' ')) throw new DbDumpFormatError(`line ${i + 1}: a data line starts with a space, got "${line}"`);
    const data = unescapeDbDumpLine(line.slice(1), i + 1);
    if (pendingKey === null) pendingKey = data;
    else {
      entries.push([pendingKey, data]);
      pendingKey = null;
    }
  }
  throw new DbDumpFormatError('no DATA=END line (output cut short?)');
}
