// Postfix's `smtp-sink` as the final destination: accepts every message on a free loopback port and
// dumps each transaction to a file (`-d`), so a test reads the headers that were really delivered.
// It runs as the postfix user, who owns the dump directory.

import { chmodSync, chownSync, mkdirSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort, waitForPort } from '../../../bench/processes.ts';
import { makeTempDir } from '../../support/temp-dir.ts';
import { requireTools } from './e2e-requirements.ts';
import { spawnLogged, type LoggedProcess } from './logged-process.ts';
import { postfixIds } from './postfix-user.ts';

export interface DeliveredMessage {
  file: string;
  /** Header fields in order, unfolded; names as written. */
  headers: Array<{ name: string; value: string }>;
  text: string;
}

export interface SmtpSink {
  readonly port: number;
  readonly process: LoggedProcess;
  messages(): Promise<DeliveredMessage[]>;
  /** The one delivered message whose Message-ID is `messageId` (without angle brackets). */
  messageWithId(messageId: string): Promise<DeliveredMessage>;
  stop(): Promise<void>;
}

export function parseMessage(file: string, text: string): DeliveredMessage {
  const end = text.search(/\r?\n\r?\n/);
  const head = end === -1 ? text : text.slice(0, end);
  const headers: Array<{ name: string; value: string }> = [];
  for (const line of head.split(/\r?\n/)) {
    const last = headers[headers.length - 1];
    if (/^[ \t]/.test(line) && last) {
      last.value += ` ${line.trim()}`;
      continue;
    }
    const colon = line.indexOf(':');
    if (colon > 0) headers.push({ name: line.slice(0, colon), value: line.slice(colon + 1).trim() });
  }
  return { file, headers, text };
}

export function headerValues(message: DeliveredMessage, name: string): string[] {
  return message.headers.filter((h) => h.name.toLowerCase() === name.toLowerCase()).map((h) => h.value);
}

/** Starts smtp-sink on a free 127.0.0.1 port, dumping into a temp dir of its own that stop() removes. */
export async function startSmtpSink(): Promise<SmtpSink> {
  const tools = requireTools();
  const dir = await makeTempDir('greygate-e2e-sink-');
  const dumpDir = join(dir.path, 'sink');
  let proc: LoggedProcess | undefined;
  const stop = async (): Promise<void> => {
    await proc?.stop();
    await dir.cleanup();
  };
  let port: number;
  try {
    chmodSync(dir.path, 0o755);
    mkdirSync(dumpDir, { mode: 0o755 });
    const { uid, gid } = postfixIds();
    chownSync(dumpDir, uid, gid);
    port = await freePort();
    // Started as the postfix user rather than with `-u postfix`, so it keeps the parent-death signal
    // (see logged-process.ts). 10: the listen backlog, which smtp-sink requires.
    proc = spawnLogged('smtp-sink', tools.smtpSink, ['-d', join(dumpDir, 'msg.'), `127.0.0.1:${port}`, '10'], { uid, gid });
    await waitForPort(port, 10_000, proc.child);
  } catch (err) {
    const tail = proc?.tail() ?? '';
    await stop();
    throw new Error(`smtp-sink did not start: ${(err as Error).message}\n${tail}`, { cause: err });
  }
  const running = proc;

  const messages = async (): Promise<DeliveredMessage[]> => {
    const names = (await readdir(dumpDir)).filter((n) => n.startsWith('msg.')).sort();
    return Promise.all(names.map(async (n) => parseMessage(n, await readFile(join(dumpDir, n), 'utf8'))));
  };

  return {
    port,
    process: running,
    messages,
    async messageWithId(messageId) {
      const all = await messages();
      const matching = all.filter((m) => headerValues(m, 'Message-Id').some((v) => v === `<${messageId}>`));
      if (matching.length !== 1) {
        throw new Error(`expected one delivered message with Message-Id <${messageId}>, found ${matching.length} among ${all.length} in ${dumpDir}`);
      }
      return matching[0] as DeliveredMessage;
    },
    stop,
  };
}
