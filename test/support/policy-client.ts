// A Postfix-like policy client for tests and benchmarks: real sockets, the real wire format.
//
//   const client = await PolicyClient.connect(server.addresses()[0]);
//   const action = await client.request(examplePolicyRequest({ recipient: 'bob@example.org' }));
//
// Requests go out exactly as given (no attribute is added), so tests can send malformed ones.

import net from 'node:net';
import { parseAddressString, type ListenAddress } from '../../bridge/listen-address.ts';

export type PolicyAddress = ListenAddress | string;
export type PolicyAttributes = Record<string, string>;

export interface PolicyClientOptions {
  /** A request not answered within this many ms rejects (default 5000), so a test fails instead of hanging. */
  timeoutMs?: number;
}

/** What Postfix 3.7 sends for a RCPT TO check, with overrides; the usual starting point. */
export function examplePolicyRequest(overrides: PolicyAttributes = {}): PolicyAttributes {
  return {
    request: 'smtpd_access_policy',
    protocol_state: 'RCPT',
    protocol_name: 'ESMTP',
    client_address: '192.0.2.10',
    client_name: 'mail.example.net',
    reverse_client_name: 'mail.example.net',
    helo_name: 'mail.example.net',
    sender: 'alice@example.net',
    recipient: 'bob@example.org',
    recipient_count: '0',
    queue_id: '',
    instance: '1a2b.3c4d5e6f.7a8b9.0',
    size: '0',
    etrn_domain: '',
    stress: '',
    ...overrides,
  };
}

/** The wire form of one request: `name=value` lines and the closing empty line. */
export function encodePolicyRequest(attrs: PolicyAttributes): string {
  let text = '';
  for (const [name, value] of Object.entries(attrs)) text += `${name}=${value}\n`;
  return `${text}\n`;
}

interface Waiter {
  resolve(action: string): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

/** One persistent connection; requests may be pipelined and are answered in order. */
export class PolicyClient {
  readonly #socket: net.Socket;
  readonly #timeoutMs: number;
  readonly #waiters: Waiter[] = [];
  #buffer = '';
  #replyAttrs = new Map<string, string>();
  #closedError: Error | undefined;
  /** Resolves when the connection is closed, by either side. */
  readonly closed: Promise<void>;
  /** Answers received that no request was waiting for (should stay empty). */
  readonly unexpectedReplies: string[] = [];

  private constructor(socket: net.Socket, opts: PolicyClientOptions) {
    this.#socket = socket;
    this.#timeoutMs = opts.timeoutMs ?? 5000;
    socket.setEncoding('utf8');
    socket.on('data', (text: string) => this.#onData(text));
    socket.on('error', (err) => {
      this.#closedError ??= err;
    });
    this.closed = new Promise((resolve) => {
      socket.on('close', () => {
        const err = this.#closedError ?? new Error('policy server closed the connection before answering');
        this.#closedError = err;
        for (const waiter of this.#waiters.splice(0)) {
          clearTimeout(waiter.timer);
          waiter.reject(err);
        }
        resolve();
      });
    });
  }

  static connect(address: PolicyAddress, opts: PolicyClientOptions = {}): Promise<PolicyClient> {
    const addr = typeof address === 'string' ? parseAddressString(address) : address;
    return new Promise((resolve, reject) => {
      const socket = addr.kind === 'unix' ? net.connect({ path: addr.path }) : net.connect({ host: addr.host, port: addr.port });
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(new PolicyClient(socket, opts));
      });
    });
  }

  /** Send one request; resolves with the action text (what follows `action=`). */
  request(attrs: PolicyAttributes): Promise<string> {
    const answer = this.expectAnswer();
    this.sendRaw(encodePolicyRequest(attrs));
    return answer;
  }

  /** Register interest in the next answer without sending anything (pair with sendRaw). */
  expectAnswer(): Promise<string> {
    if (this.#closedError) return Promise.reject(this.#closedError);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const i = this.#waiters.indexOf(waiter);
        if (i !== -1) this.#waiters.splice(i, 1);
        reject(new Error(`no policy answer within ${this.#timeoutMs} ms`));
      }, this.#timeoutMs);
      const waiter: Waiter = { resolve, reject, timer };
      this.#waiters.push(waiter);
    });
  }

  /** Write bytes as they are: split requests, garbage, oversized lines. */
  sendRaw(data: string | Buffer): void {
    this.#socket.write(data);
  }

  /** Half-close: tell the server we are done sending, keep reading its answers. */
  endInput(): void {
    this.#socket.end();
  }

  /** Close politely and wait until the socket is gone. */
  async close(): Promise<void> {
    this.#socket.end();
    await this.closed;
  }

  /** Drop the connection at once, as a crashing client would. */
  destroy(): void {
    this.#socket.destroy();
  }

  #onData(text: string): void {
    this.#buffer += text;
    let nl: number;
    while ((nl = this.#buffer.indexOf('\n')) !== -1) {
      const line = this.#buffer.slice(0, nl).replace(/\r$/, '');
      this.#buffer = this.#buffer.slice(nl + 1);
      if (line !== '') {
        const eq = line.indexOf('=');
        this.#replyAttrs.set(eq === -1 ? line : line.slice(0, eq), eq === -1 ? '' : line.slice(eq + 1));
        continue;
      }
      const action = this.#replyAttrs.get('action') ?? '';
      this.#replyAttrs = new Map();
      const waiter = this.#waiters.shift();
      if (waiter === undefined) {
        this.unexpectedReplies.push(action);
        continue;
      }
      clearTimeout(waiter.timer);
      waiter.resolve(action);
    }
  }
}

/** Open one connection, pipeline all requests, collect the actions in order, close. */
export async function sendPolicyRequests(
  address: PolicyAddress,
  requests: PolicyAttributes[],
  opts: PolicyClientOptions = {},
): Promise<string[]> {
  const client = await PolicyClient.connect(address, opts);
  try {
    const answers = requests.map(() => client.expectAnswer());
    client.sendRaw(requests.map(encodePolicyRequest).join(''));
    return await Promise.all(answers);
  } finally {
    await client.close();
  }
}
