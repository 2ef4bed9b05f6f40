// Where a policy server listens, and parsing of the Postgrey-style flags that say so
// (`--inet=[HOST:]PORT`, `--unix=PATH`, `--socketmode=MODE`).

import { isIP } from 'node:net';

export type ListenAddress =
  | { kind: 'inet'; host: string; port: number }
  /** `mode` is applied with chmod right after listening; without it the umask decides.
   * Postgrey's `--socketmode` defaults to 0666, so its config layer should pass that. */
  | { kind: 'unix'; path: string; mode?: number };

/** Postgrey binds `localhost` for a bare port; we pin the IPv4 loopback so the result never
 * depends on how the resolver orders localhost's addresses. */
export const DEFAULT_INET_HOST = '127.0.0.1';

const INET_FORM = '[HOST:]PORT, e.g. 10023, 127.0.0.1:10023 or [::1]:10023 (PORT 0-65535)';

export class ListenAddressError extends Error {
  override readonly name = 'ListenAddressError';
  readonly code = 'ERR_LISTEN_ADDRESS';
  constructor(
    message: string,
    readonly flag: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * Parse Postgrey's `--inet` value: `PORT`, `HOST:PORT` or `[IPV6]:PORT`.
 * A bare port binds 127.0.0.1. `flag` names the option in the error message.
 */
export function parseInetAddress(value: string, flag: string): ListenAddress {
  const fail = (why: string): never => {
    throw new ListenAddressError(`${flag}: ${why} in '${value}'; expected ${INET_FORM}`, flag);
  };
  const text = value.trim();
  if (text === '') fail('no address given');

  let host = DEFAULT_INET_HOST;
  let portText = text;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close === -1 || text[close + 1] !== ':') fail('a bracketed IPv6 address must be followed by :PORT');
    host = text.slice(1, close);
    portText = text.slice(close + 2);
    if (isIP(host) !== 6) fail(`'${host}' is not an IPv6 address`);
  } else {
    const colon = text.lastIndexOf(':');
    if (colon !== -1) {
      host = text.slice(0, colon);
      portText = text.slice(colon + 1);
      if (host.includes(':')) fail('an IPv6 address must be written in brackets');
      if (host === '') fail('the host before the colon is empty');
      if (isIP(host) === 0 && !isHostname(host)) fail(`'${host}' is neither an IP address nor a host name`);
    }
  }
  return { kind: 'inet', host, port: parsePort(portText, fail) };
}

/** Parse `--unix`: an absolute or relative path to the socket file. */
export function parseUnixAddress(value: string, flag: string, mode?: number): ListenAddress {
  if (value.trim() === '' || value.includes('\0')) {
    throw new ListenAddressError(`${flag}: expected the path of a unix socket, e.g. /var/spool/postfix/private/greygate`, flag);
  }
  return mode === undefined ? { kind: 'unix', path: value } : { kind: 'unix', path: value, mode };
}

/** Parse Postgrey's `--socketmode`: an octal permission mode such as 0666 or 660. */
export function parseSocketMode(value: string, flag: string): number {
  const text = value.trim();
  if (!/^0?[0-7]{3}$/.test(text)) {
    throw new ListenAddressError(`${flag}: '${value}' is not an octal permission mode; expected e.g. 0666 or 0660`, flag);
  }
  return Number.parseInt(text, 8);
}

/** How an address is written in logs and by PolicyServer.addresses(): `127.0.0.1:10023`,
 * `[::1]:10023`, `unix:/path`. parseAddressString() reads it back. */
export function formatListenAddress(addr: ListenAddress): string {
  if (addr.kind === 'unix') return `unix:${addr.path}`;
  return isIP(addr.host) === 6 ? `[${addr.host}]:${addr.port}` : `${addr.host}:${addr.port}`;
}

/** Inverse of formatListenAddress, for tools that were handed a printed address. */
export function parseAddressString(value: string, flag = 'address'): ListenAddress {
  return value.startsWith('unix:') ? parseUnixAddress(value.slice('unix:'.length), flag) : parseInetAddress(value, flag);
}

function parsePort(text: string, fail: (why: string) => never): number {
  if (!/^\d{1,5}$/.test(text)) return fail(`'${text}' is not a port number`);
  const port = Number(text);
  if (port > 65535) return fail(`port ${port} is out of range`);
  return port;
}

const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/i;

function isHostname(host: string): boolean {
  return host.length <= 253 && host.split('.').every((label) => LABEL.test(label));
}
