// The traffic of the effectiveness bench: who sends to a site over three days, and how each sender
// retries a deferred message. Modelled on the public facts in shared/senders.md:
//
// - Small MTAs keep one address: Postfix (queue_run_delay 300 s, backoff 300 s doubling to
//   4000 s), Exim (`F,2h,15m; G,16h,1h,1.5`), Sendmail (queue run every 30 min). Some have no
//   verified reverse DNS.
// - Big providers retry from pools: Gmail at +6:02, +29:02, +56:36, +98:44, +162:03… from 7
//   addresses in 7 /24s (Pagani et al., DSN 2016); Outlook every 1–4 min then every 15 min, from
//   15+ addresses before reusing one; Yahoo from the same address at +2:07, +5:39, +12:58…; Amazon
//   SES from adjacent addresses; SendGrid across several /24s.
// - Bots (Levine): of greylisted IPs 35.8 % never retried and 31.5 % retried too soon; some retry
//   from the same address after the delay (greylisting cannot stop those); botnets retry from
//   another infected host of the same ISP; snowshoe senders run real MTAs on stable names in
//   throwaway domains and retry like them (an assumption: no public figure says how snowshoe
//   senders retry), from another address of their block. Bot names: no
//   verified name, generic names carrying the address; HELO an IP literal, localhost, a bare word
//   or a forged big provider's name.
//
// Deterministic: one seed gives one trace. Offsets are seconds after the message's first attempt.

export interface Attempt {
  offset: number;
  clientAddress: string;
  clientName: string;
  helo: string;
}

export interface Message {
  population: string;
  legit: boolean;
  /** Seconds after the trace's start. */
  start: number;
  sender: string;
  recipient: string;
  attempts: Attempt[];
}

/** mulberry32: small, fast, good enough to spread a trace. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const DAY = 86_400;
const TRACE_SECONDS = 3 * DAY;
/** A legit MTA gives up after this long (Exchange Online keeps deferred mail 24 h; others longer). */
const LEGIT_HORIZON = 2 * DAY;

class Trace {
  readonly random: () => number;
  readonly #usedNets = new Set<string>();
  constructor(seed: number) {
    this.random = rng(seed);
  }
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.random() * (hi - lo + 1));
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.random() * items.length)] as T;
  }
  /** A skewed pick: a few correspondents send most of a site's mail. */
  zipf<T>(items: readonly T[]): T {
    return items[Math.min(items.length - 1, Math.floor(items.length * this.random() ** 2.5))] as T;
  }
  /** A /24 no other population uses, as `a.b.c`. */
  net(): string {
    for (;;) {
      const net = `${this.int(11, 99)}.${this.int(0, 255)}.${this.int(0, 255)}`;
      if (!this.#usedNets.has(net)) {
        this.#usedNets.add(net);
        return net;
      }
    }
  }
  address(net: string): string {
    return `${net}.${this.int(2, 254)}`;
  }
}

/** Offsets until `horizon` from a generator of the gap after the k-th attempt. */
function schedule(gap: (k: number, offset: number) => number, horizon: number): number[] {
  const offsets = [0];
  for (let k = 0; ; k += 1) {
    const next = (offsets[k] as number) + gap(k, offsets[k] as number);
    if (next > horizon) return offsets;
    offsets.push(next);
  }
}

/** Postfix: deferred mail is retried at the first queue run (every 300 s) after its backoff. */
function postfixOffsets(t: Trace, horizon = LEGIT_HORIZON): number[] {
  const phase = t.int(0, 299);
  return schedule((k, offset) => {
    const due = offset + Math.min(4000, 300 * 2 ** k);
    return Math.ceil((due - phase) / 300) * 300 + phase - offset;
  }, horizon);
}

/** Exim's default retry rule: every 15 min for 2 h, then from 1 h growing by 1.5 up to 16 h. */
function eximOffsets(t: Trace): number[] {
  const jitter = t.int(0, 120);
  return schedule((_k, offset) => (offset < 7200 ? 900 + (offset === 0 ? jitter : 0) : Math.max(3600, offset * 0.5)), LEGIT_HORIZON);
}

/** Sendmail: the queue runs every 30 min. */
function sendmailOffsets(t: Trace): number[] {
  const first = t.int(60, 1800);
  return schedule((k) => (k === 0 ? first : 1800), LEGIT_HORIZON);
}

const GMAIL_OFFSETS = [0, 362, 1742, 3396, 5924, 9723, 13_784, 18_545, 26_086];
const YAHOO_OFFSETS = [0, 127, 339, 778, 1636, 3313, 6575, 13_007, 25_836];

interface Host {
  address: string;
  name: string;
  helo: string;
}

interface SenderOrg {
  hosts: Host[];
  /** Which host sends attempt k of a message (pools rotate). */
  hostFor(k: number, t: Trace): Host;
  offsets(t: Trace): number[];
  sender(t: Trace): string;
}

const SITE_USERS = 300;
const recipient = (t: Trace): string => `user${t.zipf(Array.from({ length: SITE_USERS }, (_, i) => i))}@site.example`;

function smallMta(t: Trace, i: number, kind: 'postfix' | 'exim' | 'sendmail' | 'no-rdns'): SenderOrg {
  const address = t.address(t.net());
  const domain = `${kind}-org${i}.example.com`;
  const name = kind === 'no-rdns' ? 'unknown' : `mail.${domain}`;
  const host = { address, name, helo: `mail.${domain}` };
  const people = Array.from({ length: t.int(2, 20) }, (_, k) => `person${k}@${domain}`);
  const offsets = kind === 'exim' ? eximOffsets : kind === 'sendmail' ? sendmailOffsets : postfixOffsets;
  return { hosts: [host], hostFor: () => host, offsets, sender: (tr) => tr.zipf(people) };
}

/** A pool: `size` hosts spread over `nets` /24s; attempt k comes from a random one of them. */
function pool(t: Trace, size: number, nets: number, name: (address: string, k: number) => string, helo: (host: string) => string): Host[] {
  const blocks = Array.from({ length: nets }, () => t.net());
  return Array.from({ length: size }, (_, k) => {
    const address = t.address(blocks[k % nets] as string);
    const host = name(address, k);
    return { address, name: host, helo: helo(host) };
  });
}

const lastByte = (address: string): string => address.split('.').at(-1) as string;

function gmail(t: Trace): SenderOrg {
  const hosts = pool(t, 40, 12, (a, k) => `mail-${t.pick(['yw', 'ej', 'qt', 'wr', 'lf'])}${(k % 9) + 1}-f${lastByte(a)}.google.com`, (h) => h);
  return {
    hosts,
    // Each attempt from any of 40 addresses in 12 /24s: as measured, 9 attempts came from 7 addresses.
    hostFor: (_k, tr) => tr.pick(hosts),
    offsets: () => GMAIL_OFFSETS,
    sender: (tr) => `u${tr.int(1, 5000)}@gmail.com`,
  };
}

function outlook(t: Trace): SenderOrg {
  const hosts = pool(t, 60, 20, (_a, k) => `mail-${t.pick(['am6', 'db8', 'he1', 've1', 'vi1'])}eur0${k % 6}on${2000 + k}.outbound.protection.outlook.com`, () => `${t.pick(['EUR05-AM6', 'EUR03-DB8', 'EUR01-HE1'])}-obe.outbound.protection.outlook.com`);
  return {
    hosts,
    hostFor: (_k, tr) => tr.pick(hosts),
    offsets: (tr) => schedule((_k, offset) => (offset < 3600 ? tr.int(60, 240) : 900), DAY),
    sender: (tr) => `${tr.pick(['sales', 'info', 'hr', 'it'])}${tr.int(1, 300)}@customer${tr.int(1, 200)}.example`,
  };
}

function yahoo(t: Trace): SenderOrg {
  const hosts = pool(t, 20, 6, (a) => `sonic${lastByte(a)}-${t.int(1, 40)}.consmr.mail.bf2.yahoo.com`, (h) => h);
  return { hosts, hostFor: (_k, tr) => tr.pick(hosts), offsets: () => YAHOO_OFFSETS, sender: (tr) => `y${tr.int(1, 3000)}@yahoo.com` };
}

function ses(t: Trace): SenderOrg {
  const net = t.net();
  const base = t.int(2, 200);
  const hosts = Array.from({ length: 16 }, (_, k) => {
    const address = `${net}.${base + k}`;
    return { address, name: `a${net.split('.')[2]}-${base + k}.smtp-out.amazonses.com`, helo: `a${net.split('.')[2]}-${base + k}.smtp-out.amazonses.com` };
  });
  return {
    hosts,
    hostFor: (_k, tr) => tr.pick(hosts),
    offsets: (tr) => postfixOffsets(tr),
    sender: (tr) => `noreply@service${tr.int(1, 40)}.example`,
  };
}

/** SendGrid: a customer's dedicated addresses, named in its own domain, across a few /24s. */
function sendgrid(t: Trace, i: number): SenderOrg {
  const customer = `brand${i}.example`;
  const hosts = pool(t, 8, 3, (_a, k) => `o${k + 1}.sg.${customer}`, (h) => h);
  return { hosts, hostFor: (_k, tr) => tr.pick(hosts), offsets: (tr) => postfixOffsets(tr), sender: (tr) => `newsletter${tr.int(1, 5)}@${customer}` };
}

interface LegitShare {
  population: string;
  share: number;
  orgs: SenderOrg[];
  /** The pool rotates per attempt, or the message keeps the host of its first attempt. */
  keepsHost?: boolean;
}

function legitPopulations(t: Trace): LegitShare[] {
  const many = (n: number, make: (i: number) => SenderOrg): SenderOrg[] => Array.from({ length: n }, (_, i) => make(i));
  return [
    { population: 'small Postfix', share: 0.3, orgs: many(60, (i) => smallMta(t, i, 'postfix')) },
    { population: 'small Exim', share: 0.1, orgs: many(25, (i) => smallMta(t, i, 'exim')) },
    { population: 'small Sendmail', share: 0.04, orgs: many(10, (i) => smallMta(t, i, 'sendmail')) },
    { population: 'small, no rDNS', share: 0.03, orgs: many(10, (i) => smallMta(t, i, 'no-rdns')) },
    { population: 'Gmail pool', share: 0.16, orgs: [gmail(t)] },
    { population: 'Outlook pool', share: 0.14, orgs: [outlook(t)] },
    // Yahoo retries from the address of the first attempt.
    { population: 'Yahoo', share: 0.05, orgs: [yahoo(t)], keepsHost: true },
    { population: 'Amazon SES', share: 0.1, orgs: [ses(t)] },
    { population: 'SendGrid', share: 0.08, orgs: many(10, (i) => sendgrid(t, i)) },
  ];
}

function legitMessage(t: Trace, share: LegitShare): Message {
  const org = t.zipf(share.orgs);
  const first = org.hostFor(0, t);
  const attempts = org.offsets(t).map((offset, k) => {
    const host = share.keepsHost === true || k === 0 ? first : org.hostFor(k, t);
    return { offset, clientAddress: host.address, clientName: host.name, helo: host.helo };
  });
  return { population: share.population, legit: true, start: t.int(0, TRACE_SECONDS), sender: org.sender(t), recipient: recipient(t), attempts };
}

/** A bot host: no verified name, or a generic one carrying its address; a HELO bots give. */
function botHost(t: Trace, net: string): Host {
  const address = t.address(net);
  const dashed = address.replaceAll('.', '-');
  const name = t.random() < 0.5 ? 'unknown' : t.pick([`dyn-${dashed}.cust.isp${net.split('.')[0]}.example`, `${dashed.split('-').reverse().join('-')}.dsl.isp${net.split('.')[0]}.example`]);
  const helo = t.pick([`[${address}]`, 'localhost', `DESKTOP-${t.int(1000, 9999)}`, `mail-yw1-f${t.int(10, 250)}.google.com`, name === 'unknown' ? `host${t.int(1, 99)}.example` : name]);
  return { address, name, helo };
}

function botPopulations(t: Trace): Array<{ population: string; share: number; make: () => Message }> {
  const ispNets = Array.from({ length: 40 }, () => t.net());
  const botnet = Array.from({ length: 800 }, () => botHost(t, t.pick(ispNets)));
  const spam = (): { sender: string; recipient: string; start: number } => ({
    sender: `${t.pick(['promo', 'offer', 'info', 'noreply'])}${t.int(1, 99_999)}@${t.pick(['spam', 'deals', 'win'])}${t.int(1, 500)}.example`,
    recipient: recipient(t),
    start: t.int(0, TRACE_SECONDS),
  });
  const stableBots = Array.from({ length: 100 }, (_, i) => {
    const address = t.address(t.net());
    const name = t.pick([`srv${i}.hosting${t.int(1, 30)}.example`, `mail.company${i}.example`, `vps${t.int(100, 999)}.cloud${t.int(1, 9)}.example`]);
    const helo = t.random() < 0.2 ? name : t.pick([`[${address}]`, 'localhost', `WIN-${t.int(1000, 9999)}`, `mail-yw1-f${t.int(10, 250)}.google.com`]);
    return { address, name, helo };
  });
  const at = (host: Host, offset: number): Attempt => ({ offset, clientAddress: host.address, clientName: host.name, helo: host.helo });
  const snowshoeOrgs = Array.from({ length: 12 }, (_, i) => {
    const nets = [t.net(), t.net(), t.net(), t.net()];
    return Array.from({ length: 16 }, (_, k) => {
      const address = t.address(nets[k % 4] as string);
      const name = `mta${k}.snow${i}-mailer.example`;
      return { address, name, helo: name };
    });
  });
  return [
    {
      // Hacked servers and hosts with custom reverse DNS: S25R's false negatives. Their HELO is
      // mostly what bots say; a fifth give their own name.
      population: 'bot on a stable-looking name',
      share: 0.05,
      make: () => {
        const host = t.pick(stableBots);
        return { population: 'bot on a stable-looking name', legit: false, ...spam(), attempts: [at(host, 0)] };
      },
    },
    { population: 'bot, never retries', share: 0.31, make: () => ({ population: 'bot, never retries', legit: false, ...spam(), attempts: [at(t.pick(botnet), 0)] }) },
    {
      population: 'bot, retries too soon',
      share: 0.32,
      make: () => {
        const host = t.pick(botnet);
        const gaps = Array.from({ length: t.int(1, 3) }, () => t.int(5, 120));
        let offset = 0;
        return { population: 'bot, retries too soon', legit: false, ...spam(), attempts: [at(host, 0), ...gaps.map((g) => at(host, (offset += g)))] };
      },
    },
    {
      population: 'bot, same address after the delay',
      share: 0.1,
      make: () => {
        const host = t.pick(botnet);
        return { population: 'bot, same address after the delay', legit: false, ...spam(), attempts: [at(host, 0), at(host, t.int(400, 1800))] };
      },
    },
    {
      population: 'botnet, retries from other hosts',
      share: 0.12,
      make: () => ({
        population: 'botnet, retries from other hosts',
        legit: false,
        ...spam(),
        attempts: [at(t.pick(botnet), 0), at(t.pick(botnet), t.int(400, 1200)), at(t.pick(botnet), t.int(1300, 3600))],
      }),
    },
    {
      population: 'snowshoe (stable names, rotating)',
      share: 0.1,
      make: () => {
        const hosts = t.pick(snowshoeOrgs);
        // Real MTA software: it retries on its schedule, like any Postfix.
        const offsets = postfixOffsets(t);
        return { population: 'snowshoe (stable names, rotating)', legit: false, ...spam(), attempts: offsets.map((o) => at(t.pick(hosts), o)) };
      },
    },
  ];
}

/** The whole trace: `legit` and `bots` messages, sorted by start. */
export function senderTrace(opts: { seed: number; legit: number; bots: number }): Message[] {
  const t = new Trace(opts.seed);
  const messages: Message[] = [];
  for (const share of legitPopulations(t)) {
    for (let i = 0; i < Math.round(opts.legit * share.share); i += 1) messages.push(legitMessage(t, share));
  }
  for (const bot of botPopulations(t)) {
    for (let i = 0; i < Math.round(opts.bots * bot.share); i += 1) messages.push(bot.make());
  }
  return messages.sort((a, b) => a.start - b.start);
}
