// The shell steps of README.md and docs/*.md, run as a new user would run them, so that they stay
// true: a step that fails as written (a missing directory, a tool that is not installed, a file a
// stock install does not have, a file name that differs between two pages) fails here.
//
// The rule for the pages:
//   - Shell commands go in ```sh blocks, or ```bash when they need bash (/dev/tcp). Output,
//     configuration files, transcripts with a `$ ` prompt and diagrams go in blocks without a
//     language. A block without a language that starts like a command fails the lint below.
//   - Every ```sh / ```bash block is run, unless its info string says `not-here` and why:
//     ```sh not-here: needs AWS credentials. A block that starts a server in the foreground is
//     `not-here` too (the test starts that server itself); its `greygate serve` and
//     `greygate-bridge` lines are still parsed by greygate's own option parsers, and the
//     --token-file and --ca-file they name must exist once the page's other blocks have run.
//   - `# → TEXT`, on its own line or after a command, is what the commands print: the page's
//     output must hold each such line, in order; `…` stands for any text.
//
// How a page runs: its runnable blocks in order, as one script (bash if any block is ```bash, else
// sh, which is dash on Debian) with `set -e`, in a fresh temp dir that is also $HOME and the
// working directory. Beside it runs a fresh `greygate serve` (bin/greygate.mjs, as `npm start` runs
// it) on free loopback ports, its data in the temp dir; `<!-- docs-test serve: FLAGS -->` on a page
// adds flags. `greygate` on PATH runs bin/greygate.mjs. What the pages write for a real host is
// moved, in the text of the blocks, to the test's:
//   /etc/greygate, /etc/postgrey, /var/lib/greygate         → the same paths under the temp dir
//   127.0.0.1:10023, /dev/tcp/127.0.0.1/10023              → serve's policy port
//   127.0.0.1:8080                                          → serve's HTTP port
//   https://abcdefghij.lambda-url.eu-west-1.on.aws,
//   https://<id>.lambda-url.<region>.on.aws                 → serve's HTTP API
//   the sample token q7Xc…                                  → $TOKEN
// $TOKEN and $NEW_TOKEN are set, as the pages assume the reader did; $TOKEN_SHA256 is $TOKEN's
// digest. <tmp>/etc/postgrey holds what Debian's postgrey package installs there:
// whitelist_clients and whitelist_recipients, and no .local files.

import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseBridgeConfig } from '../../bridge/bridge-config.ts';
import { REPO_ROOT } from '../../build/bundle-options.ts';
import { parseServeConfig } from '../../functions/config/serve-config.ts';
import { makeTempDir, type TempDir } from '../support/temp-dir.ts';

interface Block {
  page: string;
  /** 1-based line of the opening fence. */
  line: number;
  /** `sh`, `bash`, `ini`, … or '' for a block without a language. */
  lang: string;
  /** The rest of the info string: `not-here: why`. */
  info: string;
  text: string;
}

const PAGES = ['README.md', ...readdirSync(join(REPO_ROOT, 'docs')).filter((f) => f.endsWith('.md')).sort().map((f) => `docs/${f}`)];
/** Pages whose shell commands are not sorted into ```sh blocks yet: each entry is a to-do. */
const NOT_SORTED_YET = new Set<string>([]);
/** The first word of a line that is a command, for the lint of blocks without a language. */
const COMMAND_WORDS =
  /^(?:sudo |)(?:greygate|greygate-bridge|npm|npx|node|curl|printf|echo|install|cp|mv|ln|rm|mkdir|chmod|chgrp|chown|systemctl|journalctl|useradd|apt-get|apt|postconf|postqueue|postfix|dig|kill|aws|cat|exec|policy)(?:\s|$)/;
const SHELL = new Set(['sh', 'bash']);
/**
 * Commands that change the machine or need what a test must not use (root's package manager,
 * systemd, users, AWS): a runnable block holding one is refused before anything runs. The test may
 * run as root; a block that forgot its `not-here` must not install or start anything for real.
 */
const NEVER_RUN = /(?:^\s*|[;&|(]\s*|\$\(\s*)(sudo|apt-get|apt|dpkg|systemctl|useradd|userdel|groupadd|usermod|postfix|cdk|aws|npm (?:install|ci|start|test)|npx)\b/m;
const PAGE_TIMEOUT_MS = 60_000;
const SERVE_START_MS = 30_000;

function blocksOf(page: string): Block[] {
  const lines = readFileSync(join(REPO_ROOT, page), 'utf8').split('\n');
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i += 1) {
    const open = /^( *)```(\S*)\s*(.*)$/.exec(lines[i] ?? '');
    if (!open) continue;
    const indent = open[1] ?? '';
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length && (lines[j] ?? '').trimEnd() !== `${indent}\`\`\``; j += 1) body.push((lines[j] ?? '').slice(indent.length));
    blocks.push({ page, line: i + 1, lang: open[2] ?? '', info: open[3] ?? '', text: body.join('\n') });
    i = j;
  }
  return blocks;
}

const isRunnable = (b: Block): boolean => SHELL.has(b.lang) && !b.info.startsWith('not-here');

/** `# → TEXT` lines and `command   # → TEXT` tails: what the page's commands print. */
function expectedOutput(text: string): string[] {
  return [...text.matchAll(/(?:^|\s)# → (.*)$/gm)].map((m) => (m[1] ?? '').trimEnd());
}

function matchesLine(expected: string, line: string): boolean {
  const pattern = expected.split('…').map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*');
  return new RegExp(`^${pattern}$`).test(line);
}

interface Sandbox {
  dir: TempDir;
  token: string;
  policyPort: number;
  httpPort: number;
}

/** The substitutions listed at the top, applied to a block's text. */
function localized(text: string, box: Sandbox): string {
  const api = `http://127.0.0.1:${box.httpPort}`;
  return text
    .replace(/(?<![\w/.-])\/(etc\/greygate|etc\/postgrey|var\/lib\/greygate)(?=[/\s'"]|$)/gm, (_m, path: string) => join(box.dir.path, path))
    .replaceAll('https://abcdefghij.lambda-url.eu-west-1.on.aws', api)
    .replaceAll('https://<id>.lambda-url.<region>.on.aws', api)
    .replaceAll('127.0.0.1:10023', `127.0.0.1:${box.policyPort}`)
    .replaceAll('/dev/tcp/127.0.0.1/10023', `/dev/tcp/127.0.0.1/${box.policyPort}`)
    .replaceAll('127.0.0.1:8080', `127.0.0.1:${box.httpPort}`)
    .replaceAll('q7Xc…', box.token);
}

/** The flags a page asks serve for, `$TOKEN_SHA256` filled in. */
function serveFlags(page: string, tokenSha256: string): string[] {
  const m = /<!-- docs-test serve: (.*?) -->/.exec(readFileSync(join(REPO_ROOT, page), 'utf8'));
  return m?.[1] ? m[1].replaceAll('$TOKEN_SHA256', tokenSha256).split(/\s+/) : [];
}

function startServe(dir: string, flags: string[]): Promise<{ child: ChildProcess; policyPort: number; httpPort: number; log: () => string }> {
  const child = spawn(process.execPath, [join(REPO_ROOT, 'bin/greygate.mjs'), 'serve', '--inet', '127.0.0.1:0', '--http', '127.0.0.1:0', '--dbdir', join(dir, 'data'), ...flags], {
    cwd: dir,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`greygate serve did not start within ${SERVE_START_MS} ms:\n${log}`));
    }, SERVE_START_MS);
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      log += chunk;
      const m = /serving policy on 127\.0\.0\.1:(\d+), HTTP API on 127\.0\.0\.1:(\d+)/.exec(log);
      if (m) {
        clearTimeout(timer);
        resolve({ child, policyPort: Number(m[1]), httpPort: Number(m[2]), log: () => log });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`greygate serve exited (${code}) before listening:\n${log}`));
    });
  });
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** What a stock Debian host has: postgrey's two lists in /etc/postgrey, a `greygate` command. */
function prepareHost(dir: string): void {
  mkdirSync(join(dir, 'etc/postgrey'), { recursive: true });
  writeFileSync(join(dir, 'etc/postgrey/whitelist_clients'), '# postgrey whitelist for mail client hostnames\nexample.com\n');
  writeFileSync(join(dir, 'etc/postgrey/whitelist_recipients'), '# postgrey whitelist for mail recipients\npostmaster@\nabuse@\n');
  mkdirSync(join(dir, 'bin'));
  writeFileSync(join(dir, 'bin/greygate'), `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(join(REPO_ROOT, 'bin/greygate.mjs'))} "$@"\n`);
  chmodSync(join(dir, 'bin/greygate'), 0o755);
}

function runScript(shell: string, script: string, dir: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const file = join(dir, 'steps.sh');
  writeFileSync(file, script);
  const child = spawn(shell, [file], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      stderr += `\n(killed after ${PAGE_TIMEOUT_MS} ms)`;
      child.kill('SIGKILL');
    }, PAGE_TIMEOUT_MS);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** The `greygate serve` / `greygate-bridge` command lines of a block, continuations joined, as words. */
function serverCommands(text: string): Array<{ kind: 'serve' | 'bridge'; args: string[] }> {
  const out: Array<{ kind: 'serve' | 'bridge'; args: string[] }> = [];
  for (const line of text.replace(/\\\n\s*/g, ' ').split('\n')) {
    const words = line.replace(/\s#.*$/, '').trim().split(/\s+/).filter((w) => w !== '...');
    if (words.includes('--help') || words.includes('-h')) continue;
    if (words[0] === 'greygate' && words[1] === 'serve') out.push({ kind: 'serve', args: words.slice(2) });
    if (words[0] === 'greygate-bridge') out.push({ kind: 'bridge', args: words.slice(1) });
  }
  return out;
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('the docs’ shell blocks', () => {
  const all = PAGES.flatMap(blocksOf);

  it('are all in ```sh or ```bash blocks: no block without a language starts with a command', () => {
    const unsorted = all
      .filter((b) => b.lang === '' && !NOT_SORTED_YET.has(b.page))
      .filter((b) => COMMAND_WORDS.test(b.text.split('\n').find((l) => l.trim() !== '' && !l.startsWith('#')) ?? ''))
      .map((b) => `${b.page}:${b.line}`);
    expect(unsorted).toEqual([]);
  });

  it('say why when they are not run', () => {
    const unexplained = all.filter((b) => SHELL.has(b.lang) && b.info !== '' && !/^not-here: \S/.test(b.info)).map((b) => `${b.page}:${b.line} ${b.info}`);
    expect(unexplained).toEqual([]);
  });

  it('that run never install, start services or touch AWS', () => {
    const refused = all.filter((b) => isRunnable(b) && NEVER_RUN.test(b.text)).map((b) => `${b.page}:${b.line}: ${NEVER_RUN.exec(b.text)?.[1]} (mark it not-here)`);
    expect(refused).toEqual([]);
  });

  const pages = PAGES.filter((page) => all.some((b) => b.page === page && SHELL.has(b.lang)));
  it.each(pages)('%s: run as written, beside a fresh greygate serve', async (page) => {
    // Prepare
    const dir = await makeTempDir('greygate-docs-');
    cleanups.push(() => dir.cleanup());
    prepareHost(dir.path);
    const token = randomBytes(24).toString('base64url');
    const tokenSha256 = createHash('sha256').update(token).digest('hex');
    const blocks = blocksOf(page).filter((b) => SHELL.has(b.lang));
    const runnable = blocks.filter(isRunnable);
    if (runnable.some((b) => NEVER_RUN.test(b.text))) throw new Error(`${page} has a block that must not run here (see the test above)`);
    // A page with nothing to run needs no server: only its server command lines are checked.
    const serve = runnable.length === 0 ? undefined : await startServe(dir.path, serveFlags(page, tokenSha256));
    if (serve) cleanups.push(() => stop(serve.child));
    const box: Sandbox = { dir, token, policyPort: serve?.policyPort ?? 10023, httpPort: serve?.httpPort ?? 8080 };
    const shell = runnable.some((b) => b.lang === 'bash') ? 'bash' : 'sh';
    const script = ['set -e', ...runnable.map((b) => `printf '%s\\n' '--- ${page}:${b.line}' >&2\n${localized(b.text, box)}`)].join('\n');
    const env: NodeJS.ProcessEnv = {
      PATH: `${join(dir.path, 'bin')}:${process.env.PATH ?? '/usr/bin:/bin'}`,
      HOME: dir.path,
      TOKEN: token,
      NEW_TOKEN: randomBytes(24).toString('base64url'),
      TOKEN_SHA256: tokenSha256,
    };

    // Act
    const run = runnable.length === 0 ? { code: 0, stdout: '', stderr: '' } : await runScript(shell, script, dir.path, env);

    // Assess: every step succeeded…
    const transcript = `stdout:\n${run.stdout}\nstderr:\n${run.stderr}\nserve's log:\n${serve?.log() ?? ''}`;
    expect(run.code, transcript).toBe(0);
    // …printed what the page says it prints…
    const lines = run.stdout.split('\n');
    let at = 0;
    for (const expected of runnable.flatMap((b) => expectedOutput(b.text))) {
      const found = lines.findIndex((line, i) => i >= at && matchesLine(localized(expected, box), line));
      expect(found, `"${expected}" not printed (in this order)\n${transcript}`).toBeGreaterThanOrEqual(0);
      at = found + 1;
    }
    // …and the servers the page starts in the foreground take its flags and find its files.
    for (const block of blocks.filter((b) => !isRunnable(b))) {
      for (const { kind, args } of serverCommands(localized(block.text, box))) {
        const where = `${page}:${block.line}: ${kind} ${args.join(' ')}`;
        const parsed = kind === 'serve' ? parseServeConfig(args, {}) : parseBridgeConfig(args, {});
        expect(parsed.help, where).toBe(false);
        for (const flag of ['--token-file', '--ca-file']) {
          const i = args.indexOf(flag);
          const file = i >= 0 ? args[i + 1] : undefined;
          if (file !== undefined) expect(existsSync(file), `${where}: ${file} does not exist after the page's steps`).toBe(true);
        }
      }
    }
  }, PAGE_TIMEOUT_MS + SERVE_START_MS + 10_000);
});
