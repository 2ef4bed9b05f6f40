// Seeded sequences of Postfix policy requests for the Postgrey comparison test: mail servers that
// retry (or not) from pools of addresses, senders whose tags change per message, whitelisted
// clients and recipients, DATA-stage checks, and simulated time over days through
// `policy_test_time`. The same seed always gives the same requests, so a failure reproduces.
//
// Left out on purpose, because greygate answers differently by design (postgrey.md's first table)
// or because this comparison found a difference it pins separately (see postgrey-compat.test.ts):
// non-IP client addresses, request types other than smtpd_access_policy, `::ffff:` client
// addresses, empty or `0` instance ids, `%` and non-ASCII text in logged attributes, spans of
// simulated time near max-age, and non-numeric policy_test_time.

import type { PolicyAttributes } from '../support/policy-client.ts';

export interface Random {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform integer in [0, n). */
  int(n: number): number;
  chance(p: number): boolean;
  pick<T>(items: readonly T[]): T;
}

/** mulberry32: small, fast and good enough to shuffle test inputs. */
export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
  const int = (n: number): number => Math.floor(next() * n);
  return {
    next,
    int,
    chance: (p) => next() < p,
    pick<T>(items: readonly T[]): T {
      if (items.length === 0) throw new RangeError('pick from an empty list');
      return items[int(items.length)] as T;
    },
  };
}

/**
 * Client whitelist for both servers: one entry of each form both read alike. Left out: `a.b`
 * (a /16 in greygate, a /24 in Postgrey, by design).
 */
export const COMPAT_CLIENT_WHITELIST = [
  '# regex on client_name',
  '/^mx[0-9]+\\.relay\\.example$/',
  'trusted.example        # hostname suffix',
  '172.16.8.77/22         # IPv4 CIDR, host bits set',
  '172.17.5               # a.b.c = /24',
  '172.18.0.9             # one IPv4 host',
  '2001:db8:ffff::/48     # IPv6 network',
  '2001:db8:fffe::25      # one IPv6 host',
  '',
].join('\n');

/** Recipient whitelist for both servers: `user@`, `user@domain`, domain, regex. */
export const COMPAT_RECIPIENT_WHITELIST = [
  'postmaster@',
  'abuse@                 # also abuse+tag@',
  'vip@corp.example       # user@domain, also vip+ext@corp.example',
  'nogrey.example         # the domain and its subdomains',
  '/^list-[a-z]+@/        # regex on the full address',
  '',
].join('\n');

export interface CompatStep {
  /** Index of the sequence's connection that carries this request, as one smtpd process would. */
  connection: number;
  /** Attributes in wire order; an absent attribute is not sent at all. */
  attrs: PolicyAttributes;
  /** What the step exercises, for failure messages. */
  note: string;
}

export interface RequestSequence {
  seed: number;
  namespace: number;
  connections: number;
  steps: CompatStep[];
}

export interface SequenceOptions {
  seed: number;
  /**
   * 1–250: picks this sequence's own client addresses (`10.N.x.x`, `2001:db8:N::/48`) and domains,
   * so sequences sent to the same pair of servers never share a record.
   */
  namespace: number;
  /** Simulated epoch seconds of the first request. */
  startTime: number;
  connections?: number;
  /** Messages to start; each makes one or more delivery attempts. */
  conversations?: number;
}

/** The latest simulated second a sequence reaches, relative to startTime: well under max-age (35 days). */
export const MAX_SPAN_SECONDS = 12 * 86_400;

const RETRY_WINDOW_SECONDS = 2 * 86_400;
const START_SPREAD_SECONDS = 8 * 86_400;

interface Client {
  address: string;
  name: string;
}

interface Attempt {
  time: number;
  order: number;
  conversation: Conversation;
  client: Client;
  index: number;
  data: boolean;
}

interface Conversation {
  id: number;
  sender: string;
  recipients: string[];
  /** Exim-like callers send no `instance`, older Postfix no `etrn_domain`. */
  sendsInstance: boolean;
  sendsEtrnDomain: boolean;
  /** client_name override for every attempt ('' or '0': Perl-false, left out of log lines). */
  clientName?: string;
  attemptCount: number;
}

function namespaceValues(namespace: number): { v6: string; domain: string } {
  if (!Number.isInteger(namespace) || namespace < 1 || namespace > 250) {
    throw new RangeError(`namespace must be an integer in 1..250, got ${namespace}`);
  }
  return { v6: `2001:db8:${namespace.toString(16)}`, domain: `s${namespace}.example` };
}

interface Pool {
  /** Busy hosts: they reach the auto-whitelist threshold. */
  members: Client[];
  /** Occasional other hosts of the same networks, each seen a few times at most. */
  other?: (rng: Random) => Client;
}

/** Pools of sending hosts: some share a /24 or /64 (one greylist key), some do not. */
function clientPools(namespace: number): { pools: Pool[]; whitelisted: Pool } {
  const n = namespace;
  const { v6, domain } = namespaceValues(n);
  const pools: Pool[] = [
    // Same /24: a retry from a sibling finds the triplet.
    {
      members: [
        { address: `10.${n}.1.10`, name: `mx1.a.${domain}` },
        { address: `10.${n}.1.11`, name: `mx2.a.${domain}` },
        { address: `10.${n}.1.200`, name: 'unknown' },
      ],
      other: (rng) => {
        const host = 2 + rng.int(253);
        return { address: `10.${n}.1.${host}`, name: rng.chance(0.5) ? 'unknown' : `host-${host}.a.${domain}` };
      },
    },
    // Different /24s: a retry from the other one starts over.
    {
      members: [
        { address: `10.${n}.2.20`, name: `out.b.${domain}` },
        { address: `10.${n}.3.20`, name: `out2.b.${domain}` },
      ],
      other: (rng) => ({ address: `10.${n}.${2 + rng.int(2)}.${2 + rng.int(253)}`, name: `OUT.B.${domain.toUpperCase()}` }),
    },
    // Same /64.
    {
      members: [
        { address: `${v6}:1::25`, name: `mail.c.${domain}` },
        { address: `${v6}:1::26`, name: `mail2.c.${domain}` },
        { address: `${v6}:1:1::27`, name: 'unknown' },
      ],
      other: (rng) => ({ address: `${v6}:1:${rng.int(0x10000).toString(16)}::${(1 + rng.int(0xffff)).toString(16)}`, name: 'unknown' }),
    },
    // Dual stack, different /64s.
    {
      members: [
        { address: `${v6}:2::25`, name: `smtp.d.${domain}` },
        { address: `${v6}:3::25`, name: `smtp.d.${domain}` },
        { address: `10.${n}.4.25`, name: `smtp.d.${domain}` },
      ],
      other: (rng) => ({ address: `${v6}:${(2 + rng.int(2)).toString(16)}::${(1 + rng.int(0xffff)).toString(16)}`, name: `smtp.d.${domain}` }),
    },
    // Near misses of the whitelist: greylisted like anyone else.
    {
      members: [
        { address: `10.${n}.9.11`, name: 'mx1.nottrusted.example' },
        { address: `172.16.12.${n}`, name: 'unknown' },
        { address: `172.17.6.${n}`, name: 'unknown' },
        { address: `2001:db8:fffd::${n.toString(16)}`, name: 'unknown' },
        { address: `10.${n}.9.12`, name: 'mx1.relay.example.net' },
      ],
    },
    // A lone host without reverse DNS.
    { members: [{ address: `10.${n}.5.5`, name: 'unknown' }] },
  ];
  const whitelisted: Pool = {
    members: [
      { address: `10.${n}.9.9`, name: 'mx7.relay.example' },
      { address: `10.${n}.9.10`, name: 'out.Trusted.Example' },
      { address: `172.16.${8 + (n % 4)}.${n}`, name: 'unknown' },
      { address: `172.17.5.${n}`, name: 'unknown' },
      { address: '172.18.0.9', name: 'unknown' },
      { address: `2001:db8:ffff:${n.toString(16)}::5`, name: 'unknown' },
      { address: '2001:db8:fffe::25', name: 'unknown' },
    ],
  };
  return { pools, whitelisted };
}

function pickClient(rng: Random, pool: Pool): Client {
  return pool.other !== undefined && rng.chance(0.5) ? pool.other(rng) : rng.pick(pool.members);
}

const BATV_CHARS = '0123456789abcdefghijklmnopqrstuvwxyz';

function batvTag(rng: Random): string {
  let tag = String(rng.int(10));
  while (tag.length < 10) tag += BATV_CHARS[rng.int(BATV_CHARS.length)];
  return tag;
}

/** A sender as a mail server would write it for one message; tags and numbers change per message. */
function senderFor(rng: Random, domain: string): string {
  const user = rng.pick(['alice', 'bob.smith', 'Carol', 'news']);
  const org = rng.pick([`a.${domain}`, `b.${domain}`, `lists.${domain}`]);
  switch (rng.int(12)) {
    case 0:
      return '';
    case 1:
      return `${user}+${rng.pick(['list', 'x', 'tag-1'])}@${org}`;
    case 2:
      return `prvs=${batvTag(rng)}=${user}@${org}`;
    case 3:
      return `prvs=${user}=${batvTag(rng)}@${org}`;
    case 4:
      // BATV is detected case-sensitively: this tag stays in the key.
      return `PRVS=${batvTag(rng)}=${user}@${org}`;
    case 5:
      return `bounce-${rng.int(100_000)}@${org}`;
    case 6:
      return `news-${rng.int(1000)}-${rng.int(1000)}-x@${org}`;
    case 7:
      // Digits inside a word are kept.
      return `abc${rng.int(1000)}@${org}`;
    case 8:
      return `${user.toUpperCase()}@${org.toUpperCase()}`;
    case 9:
      return 'MAILER-DAEMON';
    default:
      return `${user}@${org}`;
  }
}

function recipientFor(rng: Random, domain: string): string {
  const users = ['bob', 'carol', 'dave', 'erin', 'frank', 'Bob', 'bob+x', 'BOB+Y'];
  switch (rng.int(16)) {
    case 0:
      return rng.pick([`postmaster@${domain}`, `Abuse+tag@${domain}`, `POSTMASTER@${domain}`]);
    case 1:
      return rng.pick(['vip@corp.example', 'VIP+news@Corp.Example']);
    case 2:
      return rng.pick([`x@mail.nogrey.example`, `y@NoGrey.Example`, `list-announce@${domain}`]);
    case 3:
      // Near misses of the recipient whitelist.
      return rng.pick(['vip@corp.example.net', 'x@notnogrey.example', `postmaster2@${domain}`, `list-@${domain}`, `vip2@corp.example`]);
    case 4:
      return `${rng.pick(users)}@d${rng.int(3)}.${domain}`;
    case 5:
      // `%r` repeats the domain as written.
      return `${rng.pick(users)}@${domain.toUpperCase()}`;
    default:
      return `${rng.pick(users)}@${domain}`;
  }
}

/** Seconds after the first attempt at which the sender tries again (0 = the first attempt). */
const RETRY_PATTERNS: readonly (readonly number[])[] = [
  [0],
  [0, 0],
  [0, 1],
  [0, 2],
  [0, 1, 3],
  [0, 3, 4],
  [0, 5],
  [0, 60],
  [0, 300],
  [0, 900, 1800],
  [0, 3600],
  [0, 7200, 90_000],
  [0, 3, 3700, 86_400],
  [0, RETRY_WINDOW_SECONDS],
  [0, RETRY_WINDOW_SECONDS + 1],
  [0, 1, RETRY_WINDOW_SECONDS + 1, RETRY_WINDOW_SECONDS + 4],
];

/** Postfix writes IPv6 compressed and lower-case; other spellings must key the same. */
function spellAddress(rng: Random, address: string): string {
  if (!address.includes(':') || !rng.chance(0.2)) return address;
  if (rng.chance(0.5)) return address.toUpperCase();
  const [head = '', tail = ''] = address.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === '' ? [] : tail.split(':');
  const groups = [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  return groups.map((g) => g.padStart(4, '0')).join(':');
}

function hex(rng: Random, digits: number): string {
  let s = '';
  while (s.length < digits) s += rng.int(16).toString(16);
  return s;
}

export function generateRequestSequence(opts: SequenceOptions): RequestSequence {
  const rng = seededRandom(opts.seed);
  const connections = opts.connections ?? 3;
  const conversationCount = opts.conversations ?? 250;
  const { domain } = namespaceValues(opts.namespace);
  const { pools, whitelisted } = clientPools(opts.namespace);

  const attempts: Attempt[] = [];
  const clusterStarts = Array.from({ length: 12 }, () => rng.int(START_SPREAD_SECONDS));
  for (let id = 0; id < conversationCount; id++) {
    const pool = rng.chance(0.12) ? whitelisted : rng.pick(pools);
    const firstClient = pickClient(rng, pool);
    const pattern = rng.pick(RETRY_PATTERNS);
    const recipientCount = rng.pick([1, 1, 1, 2, 2, 3, 4]);
    const recipients = Array.from({ length: recipientCount }, () => recipientFor(rng, domain));
    if (rng.chance(0.01)) recipients[0] = `${'l'.repeat(530)}@${domain}`;
    const conversation: Conversation = {
      id,
      sender: senderFor(rng, domain),
      recipients,
      sendsInstance: !rng.chance(0.05),
      sendsEtrnDomain: !rng.chance(0.1),
      attemptCount: pattern.length,
    };
    if (rng.chance(0.03)) conversation.clientName = rng.pick(['', '0']);
    // Half the messages arrive in bursts, so retries interleave with other traffic.
    const start = rng.chance(0.5) ? rng.pick(clusterStarts) + rng.int(600) : rng.int(START_SPREAD_SECONDS);
    pattern.forEach((offset, index) => {
      attempts.push({
        time: opts.startTime + start + offset,
        order: attempts.length,
        conversation,
        client: index > 0 && rng.chance(0.3) ? pickClient(rng, pool) : firstClient,
        index,
        data: rng.chance(0.3),
      });
    });
  }
  attempts.sort((a, b) => a.time - b.time || a.order - b.order);

  const steps: CompatStep[] = [];
  let instanceCounter = 0;
  for (const attempt of attempts) {
    const conv = attempt.conversation;
    const connection = rng.int(connections);
    // A host whose clock (or policy_test_time) went back: "first seen in the future" corrections.
    const time = rng.chance(0.02) ? attempt.time - 1 - rng.int(120) : attempt.time;
    instanceCounter += 1;
    const instance = `${opts.namespace.toString(16)}${hex(rng, 3)}.${hex(rng, 8)}.${instanceCounter.toString(16)}.0`;
    const clientAddress = spellAddress(rng, attempt.client.address);
    const clientName = conv.clientName ?? attempt.client.name;
    const label = `message ${conv.id} attempt ${attempt.index + 1}/${conv.attemptCount} at +${time - opts.startTime}s`;
    const request = (state: 'RCPT' | 'DATA', recipient: string, extra: string): CompatStep => {
      const attrs: PolicyAttributes = {
        request: 'smtpd_access_policy',
        protocol_state: state,
        protocol_name: 'ESMTP',
        client_address: clientAddress,
        client_name: clientName,
        reverse_client_name: clientName,
        helo_name: clientName === 'unknown' || clientName === '' ? `[${clientAddress}]` : clientName,
        sender: conv.sender,
        recipient,
        recipient_count: state === 'DATA' ? String(conv.recipients.length) : '0',
        queue_id: state === 'DATA' || rng.chance(0.2) ? `4Z${hex(rng, 8).toUpperCase()}` : '',
        instance,
        size: String(rng.int(50_000)),
        etrn_domain: '',
        stress: '',
        policy_test_time: String(time),
      };
      if (!conv.sendsInstance) delete attrs.instance;
      if (!conv.sendsEtrnDomain) delete attrs.etrn_domain;
      let note = `${label} ${extra}`;
      if (rng.chance(0.03)) {
        const missing = rng.pick(['client_address', 'client_name', 'sender', 'recipient']);
        delete attrs[missing];
        note += ` without ${missing}`;
      }
      return { connection, attrs, note };
    };
    conv.recipients.forEach((recipient, i) => {
      steps.push(request('RCPT', recipient, `RCPT ${i + 1}/${conv.recipients.length}`));
    });
    if (attempt.data) {
      // At DATA, Postfix names the recipient only when there is exactly one.
      const only = conv.recipients.length === 1 ? (conv.recipients[0] ?? '') : '';
      steps.push(request('DATA', only, 'DATA'));
    }
  }
  return { seed: opts.seed, namespace: opts.namespace, connections, steps };
}
