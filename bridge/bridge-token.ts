// The API bearer token: read from `--token-file` (re-read on SIGHUP, for rotation without a
// restart) or from GREYGATE_TOKEN. The value lives in a private field, so neither JSON.stringify
// nor util.inspect of this object shows it, and no error message ever quotes it.

import { readFile } from 'node:fs/promises';
import type { TokenSource } from './bridge-config.ts';

/** What `Authorization: Bearer` accepts on the API side (one run of visible ASCII). */
const TOKEN_SHAPE = /^[\x21-\x7e]+$/;
const MAX_TOKEN_CHARS = 4096;

export class BridgeTokenError extends Error {
  override readonly name = 'BridgeTokenError';
  readonly code = 'ERR_BRIDGE_TOKEN';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

export class BearerToken {
  readonly #source: TokenSource;
  #value: string | undefined;

  private constructor(source: TokenSource, value: string | undefined) {
    this.#source = source;
    this.#value = value;
  }

  /** Reads the token once; throws BridgeTokenError when the file is unreadable or malformed. */
  static async load(source: TokenSource, env: Readonly<Record<string, string | undefined>>): Promise<BearerToken> {
    if (source.kind === 'none') return new BearerToken(source, undefined);
    if (source.kind === 'env') return new BearerToken(source, checkToken(env.GREYGATE_TOKEN ?? '', 'GREYGATE_TOKEN'));
    return new BearerToken(source, await readTokenFile(source.path));
  }

  get configured(): boolean {
    return this.#value !== undefined;
  }

  /** Where the token comes from, for log lines: `file /etc/greygate/token`, `GREYGATE_TOKEN`, `none`. */
  describe(): string {
    if (this.#source.kind === 'file') return `file ${this.#source.path}`;
    return this.#source.kind === 'env' ? 'GREYGATE_TOKEN' : 'none';
  }

  /** The `Authorization` header value, or undefined without a token. */
  header(): string | undefined {
    return this.#value === undefined ? undefined : `Bearer ${this.#value}`;
  }

  /**
   * Re-reads the token file. Returns false when there is no file to re-read. On a failure the
   * old token stays in use and the error is thrown: a half-written file must not stop the bridge.
   */
  async reload(): Promise<boolean> {
    if (this.#source.kind !== 'file') return false;
    this.#value = await readTokenFile(this.#source.path);
    return true;
  }

  toJSON(): string {
    return `[token: ${this.describe()}]`;
  }
}

async function readTokenFile(path: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    const advice =
      code === 'ENOENT'
        ? 'the file does not exist'
        : code === 'EACCES'
          ? 'permission denied; the file must be readable by the user the bridge runs as (systemd: LoadCredential=)'
          : `${typeof code === 'string' ? code : 'read error'}`;
    throw new BridgeTokenError(`--token-file: cannot read ${path}: ${advice}`, { cause: err });
  }
  return checkToken(text, `--token-file ${path}`);
}

/** Trailing newlines (from `echo` or an editor) are dropped; nothing else is forgiven. */
function checkToken(raw: string, label: string): string {
  const token = raw.replace(/[\r\n]+$/, '');
  if (token.length === 0) throw new BridgeTokenError(`${label}: the token is empty; put the token printed by \`greygate token\` in it`);
  if (token.length > MAX_TOKEN_CHARS || !TOKEN_SHAPE.test(token)) {
    // Never quote the value: it may be a real token with a stray character.
    throw new BridgeTokenError(
      `${label}: expected one token of visible ASCII characters (no spaces, no lines after it), as printed by \`greygate token\``,
    );
  }
  return token;
}
