import { describe, expect, it } from 'vitest';
import { envName, parseRetryWindow, parseServeConfig, UsageError } from '../functions/config.ts';

describe('greygate serve options', () => {
  it('accepts both --delay=2 and --delay 2, as Postgrey does', () => {
    // Act
    const a = parseServeConfig(['--delay=2']).config;
    const b = parseServeConfig(['--delay', '2']).config;

    // Assess
    expect(a.policy.delaySeconds).toBe(2);
    expect(b.policy.delaySeconds).toBe(2);
  });

  it('has Postgrey defaults and the quick-start listeners', () => {
    const { config } = parseServeConfig([]);
    expect(config.policy).toMatchObject({
      delaySeconds: 300,
      maxAgeDays: 35,
      retryWindowSeconds: 2 * 86_400,
      greylistAction: 'DEFER_IF_PERMIT',
      autoWhitelistClients: 5,
      ipv4Cidr: 24,
      ipv6Cidr: 64,
      lookupByHost: false,
    });
    expect(config.listen).toEqual([{ kind: 'inet', host: '127.0.0.1', port: 10023 }]);
    expect(config.http).toEqual({ host: '127.0.0.1', port: 8080 });
    expect(config.dbdir).toBe('./data');
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('reads --auto-whitelist-clients with, without and with a separate value', () => {
    expect(parseServeConfig(['--auto-whitelist-clients']).config.policy.autoWhitelistClients).toBe(5);
    expect(parseServeConfig(['--auto-whitelist-clients=0']).config.policy.autoWhitelistClients).toBe(0);
    expect(parseServeConfig(['--auto-whitelist-clients', '2', '--delay', '2']).config.policy).toMatchObject({
      autoWhitelistClients: 2,
      delaySeconds: 2,
    });
    expect(parseServeConfig(['--auto-whitelist-clients', '--delay', '2']).config.policy.autoWhitelistClients).toBe(5);
  });

  it('reads --retry-window as days or hours', () => {
    expect(parseRetryWindow('2', '--retry-window')).toBe(172_800);
    expect(parseRetryWindow('12h', '--retry-window')).toBe(43_200);
    expect(() => parseRetryWindow('2w', '--retry-window')).toThrow(/--retry-window: "2w" is not valid; expected N \(days\) or Nh/);
  });

  it('collects repeated whitelist options in order, replacing the default list', () => {
    const { config } = parseServeConfig(['--whitelist-clients', '/a', '--whitelist-clients=/b', '--whitelist-recipients', '/r']);
    expect(config.whitelistClients).toEqual(['/a', '/b']);
    expect(config.whitelistRecipients).toEqual(['/r']);
    expect(parseServeConfig([]).config.whitelistClients[0]).toMatch(/whitelists\/clients$/);
  });

  it('takes every option from GREYGATE_* variables, flags winning', () => {
    const env = { GREYGATE_MAX_AGE: '10', GREYGATE_DELAY: '60', GREYGATE_PRIVACY: 'true', GREYGATE_WHITELIST_CLIENTS: '/x,/y' };
    const { config } = parseServeConfig(['--delay', '5'], env);
    expect(config.policy.maxAgeDays).toBe(10);
    expect(config.policy.delaySeconds).toBe(5);
    expect(config.privacy).toBe(true);
    expect(config.whitelistClients).toEqual(['/x', '/y']);
    expect(envName('max-age')).toBe('GREYGATE_MAX_AGE');
  });

  it.each([
    [['--delay', 'soon'], /--delay: "soon" is not valid; expected seconds/],
    [['--ipv4cidr', '33'], /--ipv4cidr: 33 is out of range; expected a prefix length 1-32/],
    [['--socketmode', 'rw'], /--socketmode: "rw" is not valid; expected an octal mode/],
    [['--log-format', 'xml'], /--log-format: "xml" is not valid; expected text or json/],
    [['--inet', 'localhost:99999'], /--inet/],
    [['--http', '0.0.0.0:8080'], /not a loopback address.*--token-sha256/],
    [['--token-sha256', 'abc'], /not a SHA-256 hex digest/],
    [['--bogus'], /unknown option --bogus/],
    [['--delay'], /--delay needs a value/],
    [['--daemonize'], /--daemonize is not supported: run greygate under systemd/],
    [['--user', 'postgrey'], /--user is not supported/],
    [['--greylist-text', 'a\nb'], /single line/],
  ])('refuses %j with a message naming the option', (argv, message) => {
    expect(() => parseServeConfig(argv)).toThrow(UsageError);
    expect(() => parseServeConfig(argv)).toThrow(message);
  });

  it('names the environment variable when the bad value came from there', () => {
    expect(() => parseServeConfig([], { GREYGATE_DELAY: 'x' })).toThrow(/GREYGATE_DELAY: "x" is not valid/);
  });

  it('binds a non-loopback HTTP address only with a token configured', () => {
    const hash = 'a'.repeat(64);
    const { config } = parseServeConfig(['--http', '0.0.0.0:8080', '--token-sha256', hash]);
    expect(config.http).toEqual({ host: '0.0.0.0', port: 8080 });
    expect(config.tokenSha256).toEqual([hash]);
  });

  it('accepts unix sockets with --socketmode and turns HTTP off with --no-http', () => {
    const { config } = parseServeConfig(['--unix', '/run/gg.sock', '--socketmode', '0660', '--no-http']);
    expect(config.listen).toEqual([{ kind: 'unix', path: '/run/gg.sock', mode: 0o660 }]);
    expect(config.http).toBeNull();
  });
});
