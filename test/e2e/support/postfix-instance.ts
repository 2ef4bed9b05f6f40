// A private Postfix instance per test: its own config_directory (main.cf and master.cf written
// here), queue_directory and data_directory in a temp dir, SMTP on a free 127.0.0.1 port, its log
// in a file of its own (maillog_file). Nothing under /etc/postfix or /var/spool/postfix is read
// or changed: every Postfix command gets `-c <our config dir>`, which root may use without the
// system main.cf listing it in alternate_config_directories.
//
// The master runs in the foreground (`master -s`, what `postfix start-fg` runs) as a child of
// the test, so it is stopped by its own PID; its daemons share its process group, and whatever of
// that group outlives it is ended too. The master briefly takes the postfix user's ids, which
// clears a parent-death signal, so `-e` bounds its life instead should the test runner be killed.

import { execFile } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, waitForPort } from '../../../bench/processes.ts';
import { makeTempDir } from '../../support/temp-dir.ts';
import { requireTools } from './e2e-requirements.ts';
import { spawnLogged, type LoggedProcess } from './logged-process.ts';
import { postfixIds } from './postfix-user.ts';
import { reapGroup } from './process-group.ts';

const run = promisify(execFile);

/** Longer than any test (60 s each), short enough that an orphaned instance does not linger. */
const MASTER_LIFETIME_SECONDS = 180;

export interface PostfixOptions {
  /** Short name, also the first label of myhostname (`<name>.greygate.test`); two instances that talk must differ. */
  name: string;
  /** Where accepted mail goes: `[127.0.0.1]:PORT`, no DNS. */
  relayPort: number;
  smtpdRecipientRestrictions: string;
  mynetworks: string;
  /** Domains this instance relays for (reject_unauth_destination lets them through). */
  relayDomains?: string;
  /** More main.cf settings (backoff times, ...). */
  mainCf?: Record<string, string>;
}

export interface PostfixInstance {
  readonly name: string;
  readonly smtpPort: number;
  readonly configDir: string;
  readonly master: LoggedProcess;
  /** Lines of this instance's mail log so far. */
  logLines(): string[];
  /** Resolves with the first log line from index `from` on that matches; rejects on timeout. */
  waitForLog(match: RegExp, opts?: { from?: number; timeoutMs?: number }): Promise<string>;
  /** `postqueue -c <config> -p`: the queue listing, "Mail queue is empty" when it is. */
  queueListing(): Promise<string>;
  /** Stops the master and its daemons, then removes every directory of the instance. Safe to call twice. */
  stop(): Promise<void>;
}

/** Only the services a relay-only MX needs; nothing chrooted, so no copies of /etc are needed. */
function masterCf(smtpPort: number): string {
  return `# service type private unpriv chroot wakeup maxproc command
127.0.0.1:${smtpPort} inet n - n - - smtpd
pickup    unix  n - n 60    1 pickup
cleanup   unix  n - n -     0 cleanup
qmgr      unix  n - n 300   1 qmgr
rewrite   unix  - - n -     - trivial-rewrite
bounce    unix  - - n -     0 bounce
defer     unix  - - n -     0 bounce
trace     unix  - - n -     0 bounce
verify    unix  - - n -     1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n -     - proxymap
smtp      unix  - - n -     - smtp
relay     unix  - - n -     - smtp
showq     unix  n - n -     - showq
error     unix  - - n -     - error
retry     unix  - - n -     - error
discard   unix  - - n -     - discard
anvil     unix  - - n -     1 anvil
scache    unix  - - n -     1 scache
postlog   unix-dgram n - n - 1 postlogd
`;
}

function mainCf(base: string, opts: PostfixOptions): string {
  const settings: Record<string, string> = {
    compatibility_level: '3.6',
    queue_directory: join(base, 'queue'),
    data_directory: join(base, 'data'),
    mail_owner: 'postfix',
    myhostname: `${opts.name}.greygate.test`,
    mydomain: 'greygate.test',
    // No local delivery at all: every address is relayed or refused.
    mydestination: '',
    alias_maps: '',
    alias_database: '',
    local_recipient_maps: '',
    inet_interfaces: '127.0.0.1',
    inet_protocols: 'ipv4',
    mynetworks: opts.mynetworks,
    relay_domains: opts.relayDomains ?? '',
    relayhost: `[127.0.0.1]:${opts.relayPort}`,
    // Offline and fast wherever it runs: no DNS for next hops, no reverse lookup of clients
    // (which would wait on a resolver when /etc/hosts lacks localhost).
    smtp_dns_support_level: 'disabled',
    smtpd_peername_lookup: 'no',
    smtpd_recipient_restrictions: opts.smtpdRecipientRestrictions,
    maillog_file: join(base, 'maillog'),
    maillog_file_prefixes: base,
    ...opts.mainCf,
  };
  return Object.entries(settings)
    .map(([k, v]) => `${k} = ${v}\n`)
    .join('');
}

export async function startPostfix(opts: PostfixOptions): Promise<PostfixInstance> {
  const tools = requireTools();
  const dir = await makeTempDir(`greygate-e2e-${opts.name}-`);
  const base = dir.path;
  const configDir = join(base, 'etc');
  const maillog = join(base, 'maillog');
  const smtpPort = await freePort();

  const readLog = (): string[] => (existsSync(maillog) ? readFileSync(maillog, 'utf8').split('\n').filter((l) => l !== '') : []);
  const tailLog = (): string => readLog().slice(-30).join('\n');

  let master: LoggedProcess | undefined;
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      if (master) {
        const pgid = master.pid;
        await master.stop();
        await reapGroup(pgid, 3000);
      }
      await dir.cleanup();
    })();
    return stopping;
  };

  try {
    // Postfix's daemons run as the postfix user and must reach the queue through the temp dir.
    chmodSync(base, 0o755);
    mkdirSync(configDir);
    mkdirSync(join(base, 'queue'), { mode: 0o755 });
    mkdirSync(join(base, 'data'), { mode: 0o700 });
    const { uid, gid } = postfixIds();
    chownSync(join(base, 'data'), uid, gid);
    writeFileSync(join(configDir, 'main.cf'), mainCf(base, opts));
    writeFileSync(join(configDir, 'master.cf'), masterCf(smtpPort));
    // Postfix waits until main.cf is two seconds old before trusting it is fully written, in
    // 300 ms naps; backdating the fresh files saves every instance that wait.
    const past = new Date(Date.now() - 60_000);
    for (const file of ['main.cf', 'master.cf']) utimesSync(join(configDir, file), past, past);

    // Creates the queue's subdirectories with their owners and modes, and checks the config.
    try {
      await run(tools.postfix, ['-c', configDir, 'check'], { timeout: 30_000 });
    } catch (err) {
      const e = err as Error & { stderr?: string };
      throw new Error(`postfix -c ${configDir} check failed: ${e.stderr ?? e.message}\n${tailLog()}`, { cause: err });
    }

    master = spawnLogged(`postfix master (${opts.name})`, tools.master, ['-c', configDir, '-s', '-e', String(MASTER_LIFETIME_SECONDS)]);
    const started = master;
    try {
      await waitForPort(smtpPort, 20_000, started.child);
    } catch (err) {
      throw new Error(`Postfix (${opts.name}) did not listen on 127.0.0.1:${smtpPort}: ${(err as Error).message}\n${started.tail()}\n${tailLog()}`, {
        cause: err,
      });
    }
  } catch (err) {
    await stop();
    throw err;
  }

  const running = master;
  return {
    name: opts.name,
    smtpPort,
    configDir,
    master: running,
    logLines: readLog,
    async waitForLog(match, waitOpts = {}) {
      const deadline = Date.now() + (waitOpts.timeoutMs ?? 15_000);
      for (;;) {
        const found = readLog()
          .slice(waitOpts.from ?? 0)
          .find((l) => match.test(l));
        if (found !== undefined) return found;
        if (!running.running()) throw new Error(`Postfix (${opts.name}) stopped before logging ${match}; last lines:\n${tailLog()}`);
        if (Date.now() > deadline) throw new Error(`Postfix (${opts.name}) did not log ${match} in time; last lines:\n${tailLog()}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    async queueListing() {
      const { stdout } = await run(tools.postqueue, ['-c', configDir, '-p'], { timeout: 15_000 });
      return stdout;
    },
    stop,
  };
}
