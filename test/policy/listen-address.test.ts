import { describe, expect, it } from 'vitest';
import {
  formatListenAddress,
  ListenAddressError,
  parseAddressString,
  parseInetAddress,
  parseSocketMode,
  parseUnixAddress,
} from '../../policy/listen-address.ts';

describe('parseInetAddress (Postgrey --inet=[HOST:]PORT)', () => {
  it('binds a bare port to the IPv4 loopback, as Postgrey binds localhost', () => {
    expect(parseInetAddress('10023', '--inet')).toEqual({ kind: 'inet', host: '127.0.0.1', port: 10023 });
  });

  it.each([
    ['127.0.0.1:10023', '127.0.0.1', 10023],
    ['0.0.0.0:10023', '0.0.0.0', 10023],
    ['localhost:10023', 'localhost', 10023],
    ['policy.example.net:9998', 'policy.example.net', 9998],
    ['[::1]:10023', '::1', 10023],
    ['[2001:db8::25]:10023', '2001:db8::25', 10023],
    [' 127.0.0.1:0 ', '127.0.0.1', 0],
  ])('reads %s', (value, host, port) => {
    expect(parseInetAddress(value, '--inet')).toEqual({ kind: 'inet', host, port });
  });

  it.each([
    ['', 'no address given'],
    ['port', "'port' is not a port number"],
    ['127.0.0.1:65536', 'out of range'],
    ['127.0.0.1:', "'' is not a port number"],
    [':10023', 'host before the colon is empty'],
    ['::1:10023', 'must be written in brackets'],
    ['[::1]10023', 'followed by :PORT'],
    ['[127.0.0.1]:10023', 'not an IPv6 address'],
    ['bad_host!:10023', 'neither an IP address nor a host name'],
  ])('refuses %j, naming the flag and the accepted form', (value, why) => {
    // Act
    let caught: unknown;
    try {
      parseInetAddress(value, '--inet');
    } catch (err) {
      caught = err;
    }

    // Assess
    expect(caught).toBeInstanceOf(ListenAddressError);
    const err = caught as ListenAddressError;
    expect(err.code).toBe('ERR_LISTEN_ADDRESS');
    expect(err.flag).toBe('--inet');
    expect(err.message).toContain(why);
    expect(err.message).toMatch(/^--inet: .*expected \[HOST:\]PORT, e\.g\. 10023, 127\.0\.0\.1:10023 or \[::1\]:10023/);
  });
});

describe('unix socket flags', () => {
  it('reads a socket path and an octal --socketmode', () => {
    expect(parseUnixAddress('/var/spool/postfix/private/greygate', '--unix', parseSocketMode('0660', '--socketmode'))).toEqual({
      kind: 'unix',
      path: '/var/spool/postfix/private/greygate',
      mode: 0o660,
    });
    expect(parseSocketMode('666', '--socketmode')).toBe(0o666);
  });

  it.each(['0999', 'rw-rw-rw-', '06660', ''])('refuses socket mode %j', (value) => {
    expect(() => parseSocketMode(value, '--socketmode')).toThrow(/^--socketmode: .*expected e\.g\. 0666 or 0660/);
  });

  it('refuses an empty socket path', () => {
    expect(() => parseUnixAddress(' ', '--unix')).toThrow(/^--unix: expected the path of a unix socket/);
  });
});

describe('printed addresses', () => {
  it.each([
    [{ kind: 'inet', host: '127.0.0.1', port: 10023 } as const, '127.0.0.1:10023'],
    [{ kind: 'inet', host: '::1', port: 10023 } as const, '[::1]:10023'],
    [{ kind: 'unix', path: '/run/greygate.sock' } as const, 'unix:/run/greygate.sock'],
  ])('prints %j as %s and reads it back', (addr, text) => {
    expect(formatListenAddress(addr)).toBe(text);
    expect(parseAddressString(text)).toEqual(addr);
  });
});
