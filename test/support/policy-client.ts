// A Postfix-like policy client for tests and benchmarks: real sockets, the real wire format.
//
//   const client = await PolicyClient.connect(server.addresses()[0]);
//   const action = await client.request(examplePolicyRequest({ recipient: 'bob@example.org' }));
//
// Requests go out exactly as given (no attribute is added), so tests can send malformed ones.

import net from 'node:net';
import { parseAddressString, type ListenAddress } from '../../policy/listen-address.ts';

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
  deadline: number;
}

/** One persistent connection; requests may be pipelined and are answered in order. */
export class PolicyClient {
  readonly #socket: net.Socket;
  readonly #timeoutMs: number;
  // A queue with a head index: Array.shift() is O(n), and benchmarks pipeline tens of thousands.
  #waiters: Waiter[] = [];
  #head = 0;
  /** One watchdog for the oldest waiter instead of a timer per request. */
  #watchdog: NodeJS.Timeout | undefined;
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
        clearTimeout(this.#watchdog);
        for (const waiter of this.#waiters.slice(this.#head)) waiter.reject(err);
        this.#waiters = [];
        this.#head = 0;
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
      this.#waiters.push({ resolve, reject, deadline: Date.now() + this.#timeoutMs });
      this.#watchdog ??= setTimeout(() => this.#checkDeadline(), this.#timeoutMs);
    });
  }

  #checkDeadline(): void {
    this.#watchdog = undefined;
    const oldest = this.#waiters[this.#head];
    if (oldest === undefined) return;
    const left = oldest.deadline - Date.now();
    if (left > 0) {
      this.#watchdog = setTimeout(() => this.#checkDeadline(), left);
      return;
    }
    // Later answers would be matched to the wrong requests now, so the connection is useless:
    // closing it rejects every waiter with this error.
    this.#closedError ??= new Error(`no policy answer within ${this.#timeoutMs} ms`);
    this.#socket.destroy();
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
    const buffer = this.#buffer + text;
    let start = 0;
    for (let nl = buffer.indexOf('\n'); nl !== -1; nl = buffer.indexOf('\n', start)) {
      const end = nl > start && buffer.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
      const line = buffer.slice(start, end);
      start = nl + 1;
      if (line !== '') {
        const eq = line.indexOf('=');
        this.#replyAttrs.set(eq === -1 ? line : line.slice(0, eq), eq === -1 ? '' : line.slice(eq + 1));
        continue;
      }
      const action = this.#replyAttrs.get('action') ?? '';
      this.#replyAttrs = new Map();
      this.#answer(action);
    }
    this.#buffer = buffer.slice(start);
  }

  #answer(action: string): void {
    const waiter = this.#waiters[this.#head];
    if (waiter === undefined) {
      this.unexpectedReplies.push(action);
      return;
    }
    this.#head += 1;
    if (this.#head === this.#waiters.length) {
      this.#waiters = [];
      this.#head = 0;
      clearTimeout(this.#watchdog);
      this.#watchdog = undefined;
    } else if (this.#head > 1024 && this.#head * 2 > this.#waiters.length) {
      this.#waiters = this.#waiters.slice(this.#head);
      this.#head = 0;
    }
    waiter.resolve(action);
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
