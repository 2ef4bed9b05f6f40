// Whitelist `/regex/` entries, compiled so that no subject can make one run for long.
//
// The sender controls what these regexes are run on (its own PTR name, the recipient address), and
// V8's default engine backtracks: `/^([a-z0-9-]+\.?)+\.example\.com$/` against forty letters and a
// foreign domain runs for minutes and blocks every other answer. V8 has a second, linear-time
// engine; the runtime entry files switch it on (functions/runtime/linear-regexp.ts) so that a regex
// the default engine backtracks on too long is finished by it. That engine has two limits:
//   - it cannot run some constructs at all (backreferences, lookarounds, large repetition counts).
//     `new RegExp(source, 'l')` says whether it can; an entry it cannot run is refused at load.
//   - it has no case-insensitive mode, while Postgrey's regexes are case-insensitive (`qr{…}i`).
//     So the pattern is case-folded here (ASCII letters to lower case, classes widened to the lower
//     case of their upper-case letters) and matched against the lower-cased subject: ASCII letters
//     match either case, as Postgrey's Perl did on its byte strings; other letters match as written.
// In a process that has not switched the engine on (unit tests, tools), the `l` flag is unknown,
// nothing is refused and the regexes run on the default engine as they always did.

const UPPER_A = 0x41;
const UPPER_Z = 0x5a;
const TO_LOWER = 0x20;

function isUpper(code: number): boolean {
  return code >= UPPER_A && code <= UPPER_Z;
}

/**
 * One code unit as itself when it is an ASCII letter or digit, else as `\uXXXX`: either way it
 * means the same inside and outside a class, next to `-` or not.
 */
function unitEscape(code: number): string {
  if ((code >= 0x30 && code <= 0x39) || isUpper(code) || isUpper(code - TO_LOWER)) return String.fromCharCode(code);
  return `\\u${code.toString(16).padStart(4, '0')}`;
}

function isHex(text: string): boolean {
  return /^[0-9a-fA-F]+$/.test(text);
}

function isOctalDigit(ch: string | undefined): boolean {
  return ch !== undefined && ch >= '0' && ch <= '7';
}

interface Escape {
  /** The escape as written. */
  text: string;
  /** The code unit it stands for; null for classes (`\d`), assertions (`\b`) and references. */
  code: number | null;
  /** Index just after it. */
  end: number;
}

const CONTROL_ESCAPES: Readonly<Record<string, number>> = { f: 0x0c, n: 0x0a, r: 0x0d, t: 0x09, v: 0x0b };

/**
 * Reads the escape at `p[at] === '\\'` the way V8 reads a pattern without the `u` flag (with the
 * web-compatibility rules of ECMAScript Annex B). Only what decides case matters here: which code
 * unit an escape stands for, and which escapes must be copied unchanged.
 */
function readEscape(p: string, at: number, inClass: boolean): Escape {
  const ch = p[at + 1] ?? '';
  const plain = (code: number | null, end: number): Escape => ({ text: p.slice(at, end), code, end });
  if ('dDsSwW'.includes(ch)) return plain(null, at + 2);
  if (ch === 'b') return plain(inClass ? 0x08 : null, at + 2);
  if (ch === 'B' && !inClass) return plain(null, at + 2);
  const control = CONTROL_ESCAPES[ch];
  if (control !== undefined) return plain(control, at + 2);
  if (ch === 'c') {
    const letter = p[at + 2] ?? '';
    if (/[A-Za-z]/.test(letter) || (inClass && /[0-9_]/.test(letter))) return plain(letter.charCodeAt(0) % 32, at + 3);
    // Not a control escape: the backslash stands for itself and `c` is read next. Written as `\\`
    // so that it cannot combine with a letter put after it.
    return { text: '\\\\', code: 0x5c, end: at + 1 };
  }
  const hexDigits = ch === 'x' ? 2 : ch === 'u' ? 4 : 0;
  const hex = p.slice(at + 2, at + 2 + hexDigits);
  if (hexDigits > 0 && hex.length === hexDigits && isHex(hex)) return plain(parseInt(hex, 16), at + 2 + hexDigits);
  if (/[0-9]/.test(ch)) {
    if (!inClass) {
      // A backreference or a legacy octal escape, depending on the number of groups: copied as it is.
      let end = at + 1;
      while (/[0-9]/.test(p[end] ?? '')) end += 1;
      return plain(null, end);
    }
    if (!isOctalDigit(ch)) return plain(ch.charCodeAt(0), at + 2);
    let value = Number(ch);
    let end = at + 2;
    if (isOctalDigit(p[end])) {
      value = value * 8 + Number(p[end]);
      end += 1;
      if (ch <= '3' && isOctalDigit(p[end])) {
        value = value * 8 + Number(p[end]);
        end += 1;
      }
    }
    return plain(value, end);
  }
  if (ch === 'k' && !inClass) {
    // A named backreference keeps its group's name as written.
    const close = p[at + 2] === '<' ? p.indexOf('>', at + 3) : -1;
    return plain(null, close >= 0 ? close + 1 : at + 2);
  }
  // An identity escape: the character itself.
  return plain(ch.charCodeAt(0), at + 2);
}

interface ClassAtom {
  /** As written, for class escapes that are copied (`\d`). */
  text: string;
  code: number | null;
  /** An unescaped `-`, which may join its neighbours into a range. */
  dash: boolean;
}

/** Folds the class that starts at `p[at] === '['`; returns its replacement and the index after it. */
function foldClass(p: string, at: number): { text: string; end: number } {
  let i = at + 1;
  const negated = p[i] === '^';
  if (negated) i += 1;
  const atoms: ClassAtom[] = [];
  while (i < p.length && p[i] !== ']') {
    if (p[i] === '\\') {
      const escape = readEscape(p, i, true);
      atoms.push({ text: escape.text, code: escape.code, dash: false });
      i = escape.end;
    } else {
      atoms.push({ text: p[i] as string, code: p.charCodeAt(i), dash: p[i] === '-' });
      i += 1;
    }
  }
  // Every item is written out again as `\uXXXX` (or as the class escape it was), so the lower-case
  // letters added at the end cannot join a neighbour into a range that was not there.
  const items: string[] = [];
  const lower: string[] = [];
  for (let k = 0; k < atoms.length; k += 1) {
    const from = atoms[k] as ClassAtom;
    const dash = atoms[k + 1];
    const to = atoms[k + 2];
    if (from.code !== null && dash?.dash === true && to !== undefined && to.code !== null) {
      items.push(`${unitEscape(from.code)}-${unitEscape(to.code)}`);
      const low = Math.max(from.code, UPPER_A);
      const high = Math.min(to.code, UPPER_Z);
      if (low <= high) lower.push(`${unitEscape(low + TO_LOWER)}-${unitEscape(high + TO_LOWER)}`);
      k += 2;
    } else if (from.code === null) {
      items.push(from.text);
    } else {
      items.push(unitEscape(from.code));
      if (isUpper(from.code)) lower.push(unitEscape(from.code + TO_LOWER));
    }
  }
  return { text: `[${negated ? '^' : ''}${items.join('')}${lower.join('')}]`, end: i + 1 };
}

/**
 * The pattern without the `i` flag that matches the ASCII-lower-cased subject exactly when the
 * original pattern with `i` matches the subject, for subjects whose letters are ASCII. Expects a
 * pattern that compiles (the caller checks first).
 */
function foldAsciiCase(pattern: string): string {
  let out = '';
  let i = 0;
  while (i < pattern.length) {
    const ch = pattern[i] as string;
    if (ch === '\\') {
      const escape = readEscape(pattern, i, false);
      out += escape.code !== null && isUpper(escape.code) ? unitEscape(escape.code + TO_LOWER) : escape.text;
      i = escape.end;
    } else if (ch === '[') {
      const folded = foldClass(pattern, i);
      out += folded.text;
      i = folded.end;
    } else if (pattern.startsWith('(?<', i) && pattern[i + 3] !== '=' && pattern[i + 3] !== '!') {
      // A named group: its name is an identifier, not text to match.
      const close = pattern.indexOf('>', i);
      const end = close >= 0 ? close + 1 : pattern.length;
      out += pattern.slice(i, end);
      i = end;
    } else {
      const code = pattern.charCodeAt(i);
      out += isUpper(code) ? String.fromCharCode(code + TO_LOWER) : ch;
      i += 1;
    }
  }
  return out;
}

/** Whether V8's linear-time engine is switched on in this process (its `l` flag is known). */
function linearEngineEnabled(): boolean {
  try {
    new RegExp('', 'l');
    return true;
  } catch {
    return false;
  }
}

function runsInLinearTime(folded: string): boolean {
  try {
    new RegExp(folded, 'l');
    return true;
  } catch {
    return false;
  }
}

/** Why an entry is refused, after its quoted text: `"…" <why>; entry ignored`. */
const NOT_LINEAR =
  'could take seconds to match a hostile name (it needs a backreference, a lookaround or a repetition count above 16, ' +
  'which only the backtracking engine runs)';

/**
 * Compiles a whitelist regex body: a RegExp to test against the ASCII-lower-cased subject
 * (`asciiLower`), or why the entry is ignored. Perl syntax JavaScript lacks (`(?i)`, possessive
 * quantifiers…) gives a reason instead of a throw, so one bad line cannot stop a reload.
 */
export function compileWhitelistRegex(body: string): RegExp | string {
  try {
    // Checked as written, so the error names what the admin wrote.
    new RegExp(body, 'i');
    const folded = foldAsciiCase(body);
    if (linearEngineEnabled() && !runsInLinearTime(folded)) return NOT_LINEAR;
    // Not compiled with `l`: the default engine is faster on ordinary names, and hands a match
    // over to the linear one once it backtracks too much.
    return new RegExp(folded);
  } catch (error) {
    return `is not a valid regular expression (${error instanceof Error ? error.message : String(error)})`;
  }
}
