// Postfix's master makes itself a session and process-group leader, and its daemons (smtpd, qmgr,
// cleanup, ...) live in that group. The master passes SIGTERM on to them, but they exit at their
// own pace; this finds the ones still running so a test can wait for them, then end them.

import { readdirSync, readFileSync } from 'node:fs';

/** PIDs of the processes in group `pgid` that are still running (zombies excluded). */
export function livingGroupMembers(pgid: number): number[] {
  const members: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // exited while we looked
    }
    // "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses, so split after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[0] !== 'Z' && Number(fields[2]) === pgid) members.push(Number(entry));
  }
  return members;
}

/** Waits up to `graceMs` for group `pgid` to empty, then SIGKILLs what is left of it. */
export async function reapGroup(pgid: number, graceMs: number): Promise<void> {
  const deadline = Date.now() + graceMs;
  while (livingGroupMembers(pgid).length > 0) {
    if (Date.now() > deadline) {
      try {
        process.kill(-pgid, 'SIGKILL');
      } catch {
        // the group emptied meanwhile
      }
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
