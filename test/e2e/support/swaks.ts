// One SMTP session with swaks, read back as the replies a sender saw: which RCPT got 450 and with
// what text, whether DATA was queued and under which Postfix queue id.
//
// swaks prints ` -> ` for what it sent, `<- ` for a good reply and `<** ` for an error reply; a
// multi-line reply repeats its code with a dash (`250-PIPELINING`) until the last line.

import { execFile } from 'node:child_process';
import { requireTools } from './e2e-requirements.ts';

export interface SmtpReply {
  /** What swaks sent just before (`RCPT TO:<bob@example.org>`, `.` for the end of DATA, `` for the greeting). */
  command: string;
  code: number;
  /** The reply's last line after the code, e.g. `4.2.0 <bob@example.org>: Recipient address rejected: ...`. */
  text: string;
}

export interface SwaksSession {
  exitCode: number;
  /** swaks' whole transcript, for assertion messages. */
  transcript: string;
  replies: SmtpReply[];
  /** The reply to `RCPT TO:<address>`. */
  rcpt(address: string): SmtpReply;
  /** The reply to the end of DATA, or undefined when the session never got there. */
  endOfData(): SmtpReply | undefined;
  /** The Postfix queue id from `250 2.0.0 Ok: queued as ID`, or null. */
  queueId(): string | null;
}

export interface SwaksOptions {
  port: number;
  from: string;
  to: readonly string[];
  /** Stop after this command (swaks --quit-after), e.g. RCPT to only ask about the recipients. */
  quitAfter?: 'RCPT';
  /** Without angle brackets; lets the test find the delivered copy. */
  messageId?: string;
  helo?: string;
}

export function parseSwaksTranscript(transcript: string): SmtpReply[] {
  const replies: SmtpReply[] = [];
  let lastSent = '';
  for (const line of transcript.split('\n')) {
    const sent = /^ -> (.*)$/.exec(line);
    if (sent) {
      lastSent = sent[1] ?? '';
      continue;
    }
    const reply = /^(?:<-|<\*\*)\s+(\d{3}) (.*)$/.exec(line);
    if (reply) replies.push({ command: lastSent, code: Number(reply[1]), text: reply[2] ?? '' });
  }
  return replies;
}

export function sendWithSwaks(opts: SwaksOptions): Promise<SwaksSession> {
  const tools = requireTools();
  const args = [
    '--server', '127.0.0.1',
    '--port', String(opts.port),
    '--from', opts.from,
    '--to', opts.to.join(','),
    '--helo', opts.helo ?? 'client.example.net',
    '--timeout', '20',
    // One stream, so each error reply stays in order after the command it answers.
    '--output-file-stderr', '&STDOUT',
  ];
  if (opts.quitAfter) args.push('--quit-after', opts.quitAfter);
  if (opts.messageId) args.push('--header', `Message-Id: <${opts.messageId}>`);

  return new Promise((resolve, reject) => {
    execFile(tools.swaks, args, { timeout: 30_000, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
      const exitCode = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      if (err && exitCode === -1) {
        reject(new Error(`swaks did not finish: ${err.message}\n${stdout}${stderr}`, { cause: err }));
        return;
      }
      const transcript = `${stdout}${stderr}`;
      const replies = parseSwaksTranscript(transcript);
      resolve({
        exitCode,
        transcript,
        replies,
        rcpt(address) {
          const found = replies.find((r) => r.command.toUpperCase() === `RCPT TO:<${address.toUpperCase()}>`);
          if (!found) throw new Error(`swaks saw no reply to RCPT TO:<${address}>:\n${transcript}`);
          return found;
        },
        endOfData: () => replies.find((r) => r.command === '.'),
        queueId() {
          const m = / queued as ([0-9A-Za-z]+)/.exec(replies.find((r) => r.command === '.')?.text ?? '');
          return m?.[1] ?? null;
        },
      });
    });
  });
}
