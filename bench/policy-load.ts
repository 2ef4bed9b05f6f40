// A policy-protocol load generator: C persistent connections, each sending one request at a time
// (as Postfix's smtpd processes do), half new triplets and half repeats of triplets already sent.

import { connect, type Socket } from 'node:net';

export interface LoadResult {
  requests: number;
  seconds: number;
  rps: number;
  p50ms: number;
  p99ms: number;
  errors: number;
  actions: Map<string, number>;
}

export interface LoadOptions {
  /** Postfix's verified client name for triplet n; default `mail<n>.example.net`. */
  clientName?: (n: number) => string;
}

function requestBlock(i: number, conn: number, repeatOf: number | null, opts: LoadOptions): string {
  const n = repeatOf ?? i;
  const name = opts.clientName ? opts.clientName(n) : `mail${n}.example.net`;
  // Spread clients over many /24s so the load resembles many senders, not one.
  const a = (n >> 8) & 0xff;
  const b = n & 0xff;
  return (
    'request=smtpd_access_policy\nprotocol_state=RCPT\nprotocol_name=ESMTP\n' +
    `client_address=10.${a}.${b}.7\nclient_name=${name}\nreverse_client_name=${name}\n` +
    `helo_name=mail${n}.example.net\nsender=user${n}@sender.example\nrecipient=rcpt${conn}@example.org\n` +
    `recipient_count=0\nqueue_id=\ninstance=${conn}.${i}\nsize=0\netrn_domain=\nstress=\nsasl_method=\n` +
    'ccert_subject=\nccert_issuer=\nccert_fingerprint=\nencryption_protocol=\nencryption_cipher=\n\n'
  );
}

class Conn {
  private buf = '';
  private waiting: ((reply: string) => void) | null = null;
  private failed: ((err: Error) => void) | null = null;
  constructor(private readonly socket: Socket) {
    socket.setEncoding('latin1');
    socket.setNoDelay(true);
    const fail = (err: Error): void => {
      const f = this.failed;
      this.waiting = null;
      this.failed = null;
      f?.(err);
    };
    socket.on('error', fail);
    socket.on('close', () => fail(new Error('connection closed by the server')));
    socket.on('data', (d: string) => {
      this.buf += d;
      const end = this.buf.indexOf('\n\n');
      if (end !== -1 && this.waiting) {
        const reply = this.buf.slice(0, end);
        this.buf = this.buf.slice(end + 2);
        const w = this.waiting;
        this.waiting = null;
        this.failed = null;
        w(reply);
      }
    });
  }
  static open(port: number): Promise<Conn> {
    return new Promise((resolve, reject) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => resolve(new Conn(s)));
      s.once('error', reject);
    });
  }
  send(block: string): Promise<string> {
    return new Promise((resolve, reject) => {
      this.waiting = resolve;
      this.failed = reject;
      this.socket.write(block);
    });
  }
  close(): void {
    this.socket.destroy();
  }
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

/** Drives `port` with `connections` connections for `seconds`; `offset` keeps triplets of separate runs apart. */
export async function runPolicyLoad(
  port: number,
  connections: number,
  seconds: number,
  offset: number,
  opts: LoadOptions = {},
): Promise<LoadResult> {
  const conns = await Promise.all(Array.from({ length: connections }, () => Conn.open(port)));
  const latencies: number[] = [];
  const actions = new Map<string, number>();
  let errors = 0;
  const deadline = performance.now() + seconds * 1000;
  const started = performance.now();
  await Promise.all(
    conns.map(async (conn, c) => {
      let i = 0;
      const sent: number[] = [];
      while (performance.now() < deadline) {
        const id = offset + c * 1_000_000 + i;
        // Every other request repeats a triplet this connection already sent.
        const repeat = i % 2 === 1 && sent.length > 0 ? (sent[(i * 7919) % sent.length] as number) : null;
        if (repeat === null) sent.push(id);
        const t0 = performance.now();
        try {
          const reply = await conn.send(requestBlock(id, c, repeat, opts));
          latencies.push(performance.now() - t0);
          const word = reply.replace(/^action=/, '').split(' ')[0] ?? '';
          actions.set(word, (actions.get(word) ?? 0) + 1);
        } catch {
          errors++;
          break;
        }
        i++;
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  for (const c of conns) c.close();
  const sorted = Float64Array.from(latencies).sort();
  return {
    requests: latencies.length,
    seconds: elapsed,
    rps: latencies.length / elapsed,
    p50ms: percentile(sorted, 50),
    p99ms: percentile(sorted, 99),
    errors,
    actions,
  };
}

/** A policy server under test: its name, port and process (for its CPU time). */
export interface LoadTarget {
  name: string;
  port: number;
  pid: number;
}

/** Per target, what each round measured, and their medians. */
export interface AlternatingResult {
  rps: Map<string, number[]>;
  /** Server CPU per request, microseconds: steadier than throughput on a shared machine, as the load generator's share of the cores does not enter it. */
  cpuUs: Map<string, number[]>;
  median(values: Map<string, number[]>, name: string): number;
}

/**
 * `rounds` runs of each target, 8 connections for `seconds`, alternating which goes first so that
 * neither always runs on the warmer machine; the way the bench compares two configurations of
 * the same server in one run.
 */
export async function alternatingLoads(
  targets: readonly LoadTarget[],
  opts: { rounds: number; seconds: number; offset: number; load?: LoadOptions; cpuSeconds: (pid: number) => number },
): Promise<AlternatingResult> {
  const rps = new Map<string, number[]>();
  const cpuUs = new Map<string, number[]>();
  let offset = opts.offset;
  for (let round = 0; round < opts.rounds; round++) {
    for (const t of round % 2 === 0 ? targets : [...targets].reverse()) {
      offset += 10_000_000;
      const before = opts.cpuSeconds(t.pid);
      const r = await runPolicyLoad(t.port, 8, opts.seconds, offset, opts.load);
      rps.set(t.name, [...(rps.get(t.name) ?? []), r.rps]);
      cpuUs.set(t.name, [...(cpuUs.get(t.name) ?? []), ((opts.cpuSeconds(t.pid) - before) * 1e6) / r.requests]);
    }
  }
  const median = (values: Map<string, number[]>, name: string): number => {
    const xs = [...(values.get(name) ?? [])].sort((a, b) => a - b);
    return xs[Math.floor(xs.length / 2)] ?? NaN;
  };
  return { rps, cpuUs, median };
}
