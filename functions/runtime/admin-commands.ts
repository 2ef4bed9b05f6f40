// `greygate allow add|remove|list`, `greygate explain`, `greygate pending`, `greygate release`:
// run-time steering from a shell, on the store `serve` uses (and while it runs), or on the fleet's
// DynamoDB table. Each command takes serve's options (store, greylisting, whitelists, privacy),
// from the same flags and GREYGATE_* variables, so that `explain` decides exactly as serve does
// with the same configuration; its own flags are read first and the rest goes to serve's parser.
//
// Input is checked before the store is opened, so bad input writes nothing, not even a new
// database file. `explain` never writes: it reads the privacy key without creating it and reads
// the store with peek().

import { userInfo } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../policy/logger.ts';
import { AllowEntryError, makeAllowEntry, parseAllowEntryId, type AllowEntry, type AllowKind } from '../core/allow-entry.ts';
import { parsePolicyRequest, type PolicyRequest } from '../core/index.ts';
import { parseServeConfig, UsageError, type ServeConfig } from '../config/serve-config.ts';
import { addAllowEntry, checkReleaseSelector, listAllowEntries, pendingTriplets, planSelector, releaseTriplets, removeAllowEntry, type PendingTriplet, type TripletSelector } from '../allow/admin-ops.ts';
import { allowCacheFor } from '../allow/allow-cache.ts';
import { explain, explanationBody, type Explanation } from '../allow/explain.ts';
import { parseExpiry } from '../allow/expiry.ts';
import { publicSuffixListFor } from '../service/decision-service.ts';
import { selectiveCheckFor } from '../selective/selective-check.ts';
import type { StoreAdmin } from '../store/store-admin.ts';
import type { ImportingStore } from '../store/store-port.ts';
import { decisionDeps } from './decision-deps.ts';
import { openConfiguredStore } from './open-store.ts';
import { createKeyHasher, PRIVACY_KEY_FILE, readPrivacyKey } from './privacy-key.ts';
import { loadWhitelistFiles } from './whitelist-files.ts';

type Env = Readonly<Record<string, string | undefined>>;

export interface AdminIo {
  env: Env;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** The whole of standard input (explain without --client-address). */
  readStdin: () => Promise<string>;
  /** Milliseconds since the epoch. */
  clock?: () => number;
}

export const ADMIN_COMMANDS = ['allow', 'explain', 'pending', 'release'] as const;

/** The flags each command reads itself; `true` = takes a value. */
const OWN_FLAGS: Readonly<Record<string, Readonly<Record<string, boolean>>>> = {
  'allow add': { client: true, host: true, org: true, recipient: true, expires: true, comment: true, by: true, json: false },
  'allow remove': { client: true, host: true, org: true, recipient: true, id: true, by: true, json: false },
  'allow list': { json: false },
  explain: {
    'client-address': true, 'client-name': true, 'reverse-client-name': true, 'helo-name': true, sender: true, recipient: true,
    json: false,
  },
  pending: { client: true, sender: true, recipient: true, limit: true, json: false },
  release: { client: true, sender: true, recipient: true, by: true, json: false },
};

/** Splits argv into the command's own flags and the rest (serve's options). */
function splitArgs(command: string, argv: readonly string[]): { own: Map<string, string>; rest: string[] } {
  const flags = OWN_FLAGS[command] ?? {};
  const own = new Map<string, string>();
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i] as string;
    const m = /^--([a-z][a-z-]*)(?:=(.*))?$/s.exec(arg);
    const name = m?.[1];
    if (m === null || name === undefined || !(name in flags)) {
      rest.push(arg);
      continue;
    }
    if (!flags[name]) {
      if (m[2] !== undefined) throw new UsageError(`--${name} takes no value`);
      own.set(name, 'yes');
      continue;
    }
    let value = m[2];
    if (value === undefined) {
      value = argv[i + 1];
      if (value === undefined) throw new UsageError(`--${name} needs a value`);
      i += 1;
    }
    own.set(name, value);
  }
  return { own, rest };
}

/** The flag an admin types for a field an AllowEntryError names. */
function flagFor(field: string, own: Map<string, string>): string {
  if (field === 'value' || field === 'kind') {
    const kind = ['client', 'host', 'org', 'recipient'].find((k) => own.has(k));
    return kind === undefined ? '--client|--host|--org|--recipient' : `--${kind}`;
  }
  return `--${field}`;
}

function usage(error: unknown, own: Map<string, string>): never {
  if (error instanceof AllowEntryError) throw new UsageError(`${flagFor(error.field, own)}: ${error.message}`);
  throw error;
}

function whoAmI(env: Env): string {
  const name = env.SUDO_USER || env.USER || env.LOGNAME;
  if (name) return name;
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}

/** The key serve keyed with, read only: explain and the others never create one. */
function privacyHasher(config: ServeConfig): ((clear: string) => string) | undefined {
  if (!config.privacy) return undefined;
  if (config.privacyKeyHex !== null) return createKeyHasher(config.privacyKeyHex);
  let key: string | null;
  try {
    key = readPrivacyKey(config.dbdir);
  } catch (error) {
    throw new Error(`--privacy: ${(error as Error).message}`);
  }
  if (key === null) {
    throw new Error(
      `--privacy: there is no ${join(config.dbdir, PRIVACY_KEY_FILE)} yet (serve creates it on its first start with --privacy); point --dbdir at serve's directory`,
    );
  }
  return createKeyHasher(key);
}

async function withStore<R>(config: ServeConfig, io: AdminIo, body: (store: ImportingStore, admin: StoreAdmin) => Promise<R>): Promise<R> {
  const store = await openConfiguredStore(config, io.env, (m) => io.stderr(`greygate: ${m}\n`));
  try {
    const admin = store.admin?.();
    if (admin === undefined) throw new Error('this store has no administration side');
    return await body(store, admin);
  } finally {
    await store.close();
  }
}

const date = (epoch: number | null): string => (epoch === null ? 'never' : new Date(epoch * 1000).toISOString().replace('.000Z', 'Z'));

function formatEntry(e: AllowEntry & { live?: boolean }): string {
  const expiry = e.expiresAt === null ? 'no expiry' : `${e.live === false ? 'EXPIRED' : 'expires'} ${date(e.expiresAt)}`;
  return `${e.id}\t${expiry}\tadded ${date(e.addedAt)} by ${e.addedBy}${e.comment ? `\t${e.comment}` : ''}`;
}

function formatPending(t: PendingTriplet): string {
  return `${t.key}\tfirst ${date(t.firstSeen)}\tlast ${date(t.lastSeen)}\texpires ${date(t.expiresAt)}`;
}

function selectorOf(own: Map<string, string>): TripletSelector {
  return {
    ...(own.has('client') ? { client: own.get('client') as string } : {}),
    ...(own.has('sender') ? { sender: own.get('sender') as string } : {}),
    ...(own.has('recipient') ? { recipient: own.get('recipient') as string } : {}),
  };
}

/** Policy attributes from the flags, or a Postfix policy request (name=value lines) on stdin. */
async function explainRequest(own: Map<string, string>, io: AdminIo): Promise<PolicyRequest> {
  const attrs = new Map<string, string>();
  if (own.has('client-address')) {
    for (const flag of ['client-address', 'client-name', 'reverse-client-name', 'helo-name', 'sender', 'recipient']) {
      const value = own.get(flag);
      if (value !== undefined) attrs.set(flag.replaceAll('-', '_'), value);
    }
    if (!attrs.has('sender')) throw new UsageError('explain needs --sender (--sender= for the null sender)');
    if (!attrs.has('recipient')) throw new UsageError('explain needs --recipient');
    if (!attrs.has('client_name')) attrs.set('client_name', 'unknown');
  } else {
    const text = await io.readStdin();
    for (const line of text.split(/\r?\n/)) {
      if (line === '') continue;
      const eq = line.indexOf('=');
      if (eq <= 0) throw new UsageError(`stdin: "${line.slice(0, 80)}" is not a name=value policy attribute`);
      attrs.set(line.slice(0, eq), line.slice(eq + 1));
    }
    if (attrs.size === 0) throw new UsageError('explain needs --client-address, --client-name, --sender and --recipient, or a policy request on stdin');
  }
  if (!attrs.has('request')) attrs.set('request', 'smtpd_access_policy');
  const parsed = parsePolicyRequest(attrs);
  if (!parsed.ok) {
    const flag = own.has('client-address') ? `--${parsed.field.replaceAll('_', '-')}` : parsed.field;
    throw new UsageError(`${flag}: ${parsed.message}`);
  }
  return parsed.request;
}

function formatExplanation(e: Explanation): string {
  const d = e.decision;
  const lines = [`decision: ${d.verdict} (${d.reason}): action=${d.action}`];
  if (d.retryAfterSeconds !== undefined) lines.push(`retry after: ${d.retryAfterSeconds} s`);
  if (d.signals !== undefined) lines.push(`signals: ${JSON.stringify(d.signals)}`);
  lines.push('steps:');
  for (const s of e.steps) lines.push(`  ${s.decided ? '*' : '-'} ${s.rule}: ${s.outcome}`);
  if (e.identity) lines.push(`identity: ${e.identity.kind === 'org' ? `org ${e.identity.org}` : `net (${e.identity.why})`}`);
  if (e.keys) {
    const key = (k: { clear: string; stored: string }): string => (k.clear === k.stored ? k.clear : `${k.clear} (stored as ${k.stored})`);
    lines.push(`keys:\n  triplet: ${key(e.keys.triplet)}${e.keys.client ? `\n  client:  ${key(e.keys.client)}` : ''}`);
  }
  if (e.records) {
    const t = e.records.triplet;
    const c = e.records.client;
    lines.push(
      'records:',
      `  triplet: ${t === null ? 'none' : `first seen ${date(t.firstSeen)}, last seen ${date(t.lastSeen)}, expires ${date(t.expiresAt)}`}`,
      ...(e.keys?.client ? [`  client:  ${c === null ? 'none' : `count ${c.count}, last seen ${date(c.lastSeen)}, expires ${date(c.expiresAt)}`}`] : []),
    );
  }
  const writes = Object.keys(e.wouldWrite);
  lines.push(`a real decision would write: ${writes.length === 0 ? 'nothing' : writes.join(' and ')}; explain wrote nothing.`);
  return `${lines.join('\n')}\n`;
}

/** The log line of a change, on stderr in serve's log format (the token id instead of a user over HTTP). */
function changeLogger(config: ServeConfig, io: AdminIo, quiet = false): Logger {
  return createLogger({ format: config.logFormat, quiet, stream: stderrStream(io) });
}

function stderrStream(io: AdminIo): Writable {
  return new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      io.stderr(String(chunk));
      done();
    },
  });
}

export async function runAdminCommand(command: string, argv: readonly string[], io: AdminIo): Promise<number> {
  const clock = io.clock ?? Date.now;
  const now = Math.floor(clock() / 1000);
  let sub = command;
  let args = argv;
  if (command === 'allow') {
    const [verb, ...more] = argv;
    if (verb !== 'add' && verb !== 'remove' && verb !== 'list') throw new UsageError('usage: greygate allow add|remove|list [options] (see greygate help)');
    sub = `allow ${verb}`;
    args = more;
  }
  const { own, rest } = splitArgs(sub, args);
  const { config } = parseServeConfig(rest, io.env);
  const json = own.has('json');
  const print = (value: unknown, text: string): void => io.stdout(json ? `${JSON.stringify(value, null, 2)}\n` : text);

  switch (sub) {
    case 'allow add': {
      const kinds = (['client', 'host', 'org', 'recipient'] as const).filter((k) => own.has(k));
      if (kinds.length !== 1) throw new UsageError('allow add needs exactly one of --client, --host, --org, --recipient');
      const kind = kinds[0] as AllowKind;
      let input;
      try {
        const expires = own.get('expires');
        input = {
          kind,
          value: own.get(kind) as string,
          expiresAt: expires === undefined ? null : parseExpiry(expires, now),
          comment: own.get('comment') ?? '',
          addedBy: own.get('by') ?? whoAmI(io.env),
        };
        makeAllowEntry(input, now); // checked before the store opens
      } catch (error) {
        usage(error, own);
      }
      const added = await withStore(config, io, (_s, admin) => addAllowEntry(admin, input, now).catch((e: unknown) => usage(e, own)));
      changeLogger(config, io).info(`allow entry added: ${added.entry.id} by ${added.entry.addedBy}`, { event: 'allow-add', entry: added.entry.id, by: added.entry.addedBy });
      print(added, `added ${formatEntry(added.entry)}\n(in force on every instance within 30 s)\n`);
      return 0;
    }
    case 'allow remove': {
      let id: string;
      try {
        const kind = (['client', 'host', 'org', 'recipient'] as const).filter((k) => own.has(k));
        if (own.has('id')) id = parseAllowEntryId(own.get('id') as string);
        else if (kind.length === 1) id = parseAllowEntryId(`${kind[0]}:${own.get(kind[0] as string)}`);
        else throw new UsageError('allow remove needs --id=KIND:VALUE (as allow list prints it) or one of --client, --host, --org, --recipient');
      } catch (error) {
        usage(error, own);
      }
      const by = own.get('by') ?? whoAmI(io.env);
      const result = await withStore(config, io, (_s, admin) => removeAllowEntry(admin, id));
      if (result.removed) changeLogger(config, io).info(`allow entry removed: ${result.id} by ${by}`, { event: 'allow-remove', entry: result.id, by });
      print(result, result.removed ? `removed ${result.id}\n` : `no allow entry ${result.id}\n`);
      return result.removed ? 0 : 1;
    }
    case 'allow list': {
      const listed = await withStore(config, io, (_s, admin) => listAllowEntries(admin, now));
      print(listed, listed.entries.length === 0 ? 'no allow entries\n' : `${listed.entries.map(formatEntry).join('\n')}\n`);
      return 0;
    }
    case 'explain': {
      const request = await explainRequest(own, io);
      const hashKey = privacyHasher(config);
      const quiet = changeLogger(config, io, true);
      const whitelists = await loadWhitelistFiles({ clients: config.whitelistClients, recipients: config.whitelistRecipients }, quiet);
      const psl = await publicSuffixListFor(config);
      const explanation = await withStore(config, io, async (store) => {
        const allowEntries = allowCacheFor(store, { clock });
        await allowEntries?.refresh();
        const selective = selectiveCheckFor(config, clock, psl.parseDomain);
        return explain(decisionDeps(config, { store, whitelists: () => whitelists, clock, hashKey, selective, ...psl, allowEntries }), request);
      });
      print(explanationBody(explanation), formatExplanation(explanation));
      return 0;
    }
    case 'pending': {
      const limitText = own.get('limit') ?? '1000';
      if (!/^\d{1,6}$/.test(limitText) || Number(limitText) === 0) throw new UsageError('--limit: give a number of triplets from 1 to 999999');
      const hashKey = privacyHasher(config);
      const selector = selectorOf(own);
      try {
        planSelector(selector, config.policy, hashKey);
      } catch (error) {
        usage(error, own);
      }
      const found = await withStore(config, io, (_s, admin) => pendingTriplets(admin, now, selector, config.policy, hashKey, Number(limitText)));
      print(
        found,
        (found.triplets.length === 0 ? 'no pending triplets\n' : `${found.triplets.map(formatPending).join('\n')}\n`) +
          (found.truncated ? `(the first ${limitText} only; narrow with --client, --sender, --recipient or raise --limit)\n` : ''),
      );
      return 0;
    }
    case 'release': {
      const hashKey = privacyHasher(config);
      const selector = selectorOf(own);
      const by = own.get('by') ?? whoAmI(io.env);
      try {
        checkReleaseSelector(selector, config.policy, hashKey);
      } catch (error) {
        usage(error, own);
      }
      const { released } = await withStore(config, io, (_s, admin) => releaseTriplets(admin, now, selector, config.policy, hashKey));
      const log = changeLogger(config, io);
      for (const t of released) log.info(`released: ${t.key} by ${by}: its next attempt passes`, { event: 'release', key: t.key, by });
      print({ released }, released.length === 0 ? 'no pending triplet matches\n' : `released ${released.length}:\n${released.map(formatPending).join('\n')}\n`);
      return 0;
    }
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}
