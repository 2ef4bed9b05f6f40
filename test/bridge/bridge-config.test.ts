// How an admin configures greygate-bridge: flags, GREYGATE_* variables (flags win), and what a
// mistake looks like: a message naming the flag and the accepted form, exit status 2.

import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BridgeUsageError, DEFAULT_DEFER_ACTION, parseBridgeConfig, type BridgeConfig } from '../../bridge/bridge-config.ts';
import { main } from '../../bridge/main.ts';
import { LogCapture } from '../support/fake-api.ts';
import { makeTempDir, type TempDir } from '../support/temp-dir.ts';

let dir: TempDir;
beforeEach(async () => {
  dir = await makeTempDir('greygate-bridge-config-');
});
afterEach(async () => {
  await dir.cleanup();
});

function parse(argv: string[], env: Record<string, string> = {}): BridgeConfig {
  const parsed = parseBridgeConfig(argv, env);
  if (parsed.help) throw new Error('unexpected --help');
  return parsed.config;
}

function usageError(argv: string[], env: Record<string, string> = {}): string {
  try {
    parseBridgeConfig(argv, env);
  } catch (err) {
    if (err instanceof BridgeUsageError) return err.message;
    throw err;
  }
  throw new Error('no usage error');
}

async function runMain(argv: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new LogCapture();
  const stderr = new LogCapture();
  const code = await main(argv, env, { stdout, stderr });
  return { code, stdout: stdout.text, stderr: stderr.text };
}

describe('greygate-bridge configuration', () => {
  it('has defaults that fail open on Postgrey’s port', () => {
    // Act
    const config = parse(['--api', 'https://api.example.net/']);

    // Assess
    expect(config).toMatchObject({
      listen: [{ kind: 'inet', host: '127.0.0.1', port: 10023 }],
      timeoutMs: 3000,
      onError: 'dunno',
      deferAction: DEFAULT_DEFER_ACTION,
      exim: false,
      maxConnections: 1000,
      caPem: null,
      logFormat: 'text',
      token: { kind: 'none' },
    });
    expect(config.checkUrl.href).toBe('https://api.example.net/v1/check');
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('reads every option from GREYGATE_* variables, and a flag wins over its variable', () => {
    // Prepare
    const env = {
      GREYGATE_API: 'https://env.example.net/prefix',
      GREYGATE_INET: '127.0.0.1:10030,[::1]:10031',
      GREYGATE_TIMEOUT_MS: '1500',
      GREYGATE_ON_ERROR: 'defer',
      GREYGATE_DEFER_ACTION: '451 4.3.0 try later',
      GREYGATE_EXIM: 'true',
      GREYGATE_MAX_CONNECTIONS: '50',
      GREYGATE_LOG_FORMAT: 'json',
      GREYGATE_QUIET: '1',
      GREYGATE_TOKEN_FILE: '/run/credentials/greygate-bridge.service/token',
    };

    // Act
    const fromEnv = parse([], env);
    const flagWins = parse(['--timeout-ms', '800', '--on-error=dunno'], env);

    // Assess
    expect(fromEnv).toMatchObject({
      listen: [
        { kind: 'inet', host: '127.0.0.1', port: 10030 },
        { kind: 'inet', host: '::1', port: 10031 },
      ],
      timeoutMs: 1500,
      onError: 'defer',
      deferAction: '451 4.3.0 try later',
      exim: true,
      maxConnections: 50,
      logFormat: 'json',
      quiet: true,
      token: { kind: 'file', path: '/run/credentials/greygate-bridge.service/token' },
    });
    expect(fromEnv.checkUrl.href).toBe('https://env.example.net/prefix/v1/check');
    expect(flagWins).toMatchObject({ timeoutMs: 800, onError: 'dunno' });
  });

  it('listens on a unix socket with --unix and --socketmode', () => {
    // Act
    const config = parse(['--api', 'http://127.0.0.1:8080', '--unix', '/var/spool/postfix/greygate/socket', '--socketmode', '0660']);

    // Assess
    expect(config.listen).toEqual([{ kind: 'unix', path: '/var/spool/postfix/greygate/socket', mode: 0o660 }]);
  });

  it.each([
    [['--inet', '127.0.0.1:10023'], /--api URL is required/],
    [['--api', 'http://api.example.net/'], /--api: http:\/\/ is only allowed for a loopback host .* use https:\/\/ for api\.example\.net/],
    [['--api', 'ftp://127.0.0.1/'], /--api: "ftp:" is not supported; expected https:\/\/HOST/],
    [['--api', 'not a url'], /--api: not a URL; expected https:\/\/HOST/],
    [['--api', 'https://api.example.net/?x=1'], /--api: expected the API's base URL without \?query/],
    [['--api', 'https://a.example.net', '--timeout-ms', '3s'], /--timeout-ms: "3s" is not valid; expected milliseconds 10-60000/],
    [['--api', 'https://a.example.net', '--timeout-ms', '0'], /--timeout-ms: 0 is out of range; expected milliseconds 10-60000/],
    [['--api', 'https://a.example.net', '--on-error', 'reject'], /--on-error: "reject" is not valid; expected dunno .* or defer/],
    [['--api', 'https://a.example.net', '--defer-action', 'DEFER\nX'], /--defer-action: expected a Postfix action .* on one line/],
    [['--api', 'https://a.example.net', '--max-connections', '-1'], /--max-connections/],
    [['--api', 'https://a.example.net', '--log-format', 'xml'], /--log-format: "xml" is not valid; expected text or json/],
    [['--api', 'https://a.example.net', '--inet', 'localhost:99999'], /--inet: port 99999 is out of range/],
    [['--api', 'https://a.example.net', '--socketmode', 'rw'], /--socketmode: 'rw' is not an octal permission mode/],
    [['--api', 'https://a.example.net', '--bogus'], /unknown option --bogus \(see --help\)/],
    [['--api', 'https://a.example.net', 'extra'], /unexpected argument/],
  ])('refuses %j naming the flag and the accepted form', (argv, message) => {
    // Act
    const error = usageError(argv);

    // Assess
    expect(error).toMatch(message);
  });

  it('names the variable when the bad value came from the environment', () => {
    // Act
    const error = usageError([], { GREYGATE_API: 'https://a.example.net', GREYGATE_ON_ERROR: 'maybe' });

    // Assess
    expect(error).toMatch(/^GREYGATE_ON_ERROR: "maybe" is not valid/);
  });

  it('refuses credentials in the API URL without repeating them', () => {
    // Act
    const error = usageError(['--api', 'https://user:hunter2-secret@api.example.net/']);

    // Assess
    expect(error).toMatch(/credentials in the URL are not accepted; put the token in --token-file/);
    expect(error).not.toContain('hunter2-secret');
  });

  it('refuses a --ca-file that holds no certificate, and one that cannot be read', async () => {
    // Prepare
    const notPem = join(dir.path, 'ca.txt');
    await writeFile(notPem, 'hello\n');

    // Act
    const wrongContent = usageError(['--api', 'https://a.example.net', '--ca-file', notPem]);
    const missing = usageError(['--api', 'https://a.example.net', '--ca-file', join(dir.path, 'none.pem')]);

    // Assess
    expect(wrongContent).toMatch(/--ca-file: .* holds no PEM certificate; expected one or more "-----BEGIN CERTIFICATE-----" blocks/);
    expect(missing).toMatch(/--ca-file: cannot read .*none\.pem \(ENOENT\)/);
  });
});

describe('greygate-bridge command', () => {
  it('prints the usage with --help and exits 0', async () => {
    // Act
    const { code, stdout } = await runMain(['--help']);

    // Assess
    expect(code).toBe(0);
    expect(stdout).toMatch(/^usage: greygate-bridge --api URL/);
    expect(stdout).toContain('--on-error dunno|defer');
  });

  it('exits 2 with a message for a bad value', async () => {
    // Act
    const { code, stderr } = await runMain(['--api', 'https://a.example.net', '--timeout-ms', 'soon']);

    // Assess
    expect(code).toBe(2);
    expect(stderr).toBe('greygate-bridge: --timeout-ms: "soon" is not valid; expected milliseconds 10-60000, e.g. 3000\n');
  });

  it('exits 2 for an unusable token file, without printing what is in it', async () => {
    // Prepare
    const tokenFile = join(dir.path, 'token');
    await writeFile(tokenFile, 'sekret-token-9f8e7d two words\n');

    // Act
    const bad = await runMain(['--api', 'https://a.example.net', '--inet', '127.0.0.1:0', '--token-file', tokenFile]);
    const missing = await runMain(['--api', 'https://a.example.net', '--inet', '127.0.0.1:0', '--token-file', join(dir.path, 'nope')]);

    // Assess
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--token-file .*token: expected one token of visible ASCII characters/);
    expect(bad.stderr).not.toContain('sekret');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/--token-file: cannot read .*nope: the file does not exist/);
  });

  it('exits 1 when it cannot listen', async () => {
    // Prepare: a path whose directory does not exist
    const socket = join(dir.path, 'missing-dir', 'socket');

    // Act
    const { code, stderr } = await runMain(['--api', 'http://127.0.0.1:1', '--unix', socket]);

    // Assess
    expect(code).toBe(1);
    expect(stderr).toMatch(/^greygate-bridge: cannot listen on unix:.*missing-dir\/socket: /);
  });
});
