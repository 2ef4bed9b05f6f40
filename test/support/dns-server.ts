// A tiny authoritative DNS server on 127.0.0.1 (UDP, port 0) for the DNS-list tests: packets are
// encoded by hand so the tests depend on nothing but node:dgram, and each name's behaviour is set
// per test — A records with a TTL, NXDOMAIN, SERVFAIL, or silence (the client must time out).
//
//   const dns = await startDnsServer();
//   dns.answer('2.0.0.127.bl.test', { a: ['127.0.0.2'], ttl: 60 });
//   dns.answer('slow.bl.test', { drop: true });
//   new Resolver().setServers([dns.address]);
//   dns.queryCount('2.0.0.127.bl.test');   // how often the name was asked for
//
// Names not configured answer NXDOMAIN, like a DNSBL zone for an address it does not list.

import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';

export type DnsAnswer =
  | { a: string[]; ttl?: number; delayMs?: number }
  | { rcode: 'nxdomain' | 'servfail' | 'refused'; delayMs?: number }
  | { drop: true };

export interface TestDnsServer {
  /** `127.0.0.1:PORT`, the form `Resolver.setServers` takes. */
  readonly address: string;
  /** Sets how a name (case-insensitive, without the trailing dot) is answered from now on. */
  answer(name: string, answer: DnsAnswer): void;
  /** Queries received for a name so far (any type). */
  queryCount(name: string): number;
  /** Queries received for all names. */
  totalQueries(): number;
  close(): Promise<void>;
}

const RCODES = { noerror: 0, servfail: 2, nxdomain: 3, refused: 5 } as const;
const TYPE_A = 1;

interface Question {
  id: number;
  flags: number;
  name: string;
  type: number;
  /** The question section exactly as received, echoed back in the answer. */
  raw: Buffer;
}

function parseQuestion(msg: Buffer): Question | null {
  if (msg.length < 12 || msg.readUInt16BE(4) < 1) return null;
  const labels: string[] = [];
  let offset = 12;
  for (;;) {
    const len = msg[offset];
    if (len === undefined || len > 63) return null;
    offset += 1;
    if (len === 0) break;
    labels.push(msg.toString('latin1', offset, offset + len));
    offset += len;
  }
  if (offset + 4 > msg.length) return null;
  return {
    id: msg.readUInt16BE(0),
    flags: msg.readUInt16BE(2),
    name: labels.join('.').toLowerCase(),
    type: msg.readUInt16BE(offset),
    raw: msg.subarray(12, offset + 4),
  };
}

function encodeReply(q: Question, rcode: number, addresses: readonly string[], ttl: number): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt16BE(q.id, 0);
  // QR=1, the query's opcode and RD bit, AA=1, RA=1, then the rcode.
  header.writeUInt16BE(0x8000 | (q.flags & 0x7900) | 0x0400 | 0x0080 | rcode, 2);
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(addresses.length, 6);
  const records = addresses.map((address) => {
    const rr = Buffer.alloc(16);
    rr.writeUInt16BE(0xc00c, 0); // a pointer to the question's name
    rr.writeUInt16BE(TYPE_A, 2);
    rr.writeUInt16BE(1, 4); // class IN
    rr.writeUInt32BE(ttl, 6);
    rr.writeUInt16BE(4, 10);
    address.split('.').forEach((octet, i) => rr.writeUInt8(Number(octet), 12 + i));
    return rr;
  });
  return Buffer.concat([header, q.raw, ...records]);
}

export async function startDnsServer(): Promise<TestDnsServer> {
  const answers = new Map<string, DnsAnswer>();
  const counts = new Map<string, number>();
  const timers = new Set<NodeJS.Timeout>();
  let total = 0;
  const socket: Socket = createSocket('udp4');

  const reply = (q: Question, to: RemoteInfo): void => {
    const answer = answers.get(q.name) ?? { rcode: 'nxdomain' };
    if ('drop' in answer) return;
    const packet =
      'a' in answer
        ? // Other types (AAAA, TXT) of a listed name exist but hold nothing: NOERROR, no records.
          encodeReply(q, RCODES.noerror, q.type === TYPE_A ? answer.a : [], answer.ttl ?? 300)
        : encodeReply(q, RCODES[answer.rcode], [], 0);
    const send = (): void => socket.send(packet, to.port, to.address);
    if (!answer.delayMs) return send();
    const timer = setTimeout(() => {
      timers.delete(timer);
      send();
    }, answer.delayMs);
    timers.add(timer);
  };

  socket.on('message', (msg, from) => {
    const q = parseQuestion(msg);
    if (q === null) return;
    total += 1;
    counts.set(q.name, (counts.get(q.name) ?? 0) + 1);
    reply(q, from);
  });

  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, '127.0.0.1', () => {
      socket.off('error', reject);
      resolve();
    });
  });
  const { port } = socket.address();

  return {
    address: `127.0.0.1:${port}`,
    answer(name, answer) {
      answers.set(name.toLowerCase().replace(/\.$/, ''), answer);
    },
    queryCount: (name) => counts.get(name.toLowerCase().replace(/\.$/, '')) ?? 0,
    totalQueries: () => total,
    close() {
      for (const timer of timers) clearTimeout(timer);
      return new Promise((resolve) => socket.close(() => resolve()));
    },
  };
}
