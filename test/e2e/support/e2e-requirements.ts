// What the end-to-end suite needs from the machine: Postfix (its master, postconf, smtp-sink),
// swaks, and root, because Postfix's master only runs as root. When something is missing the
// suite is skipped under a name that says why, and a warning says it again, so a machine without
// Postfix never looks like one where the suite passed.

import { execFileSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

function findExecutable(name: string, dirs: readonly string[] = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/bin']): string | null {
  for (const dir of dirs) {
    if (dir === '') continue;
    const path = join(dir, name);
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // not in this directory
    }
  }
  return null;
}

export interface E2eTools {
  postfix: string;
  postconf: string;
  postqueue: string;
  master: string;
  smtpSink: string;
  swaks: string;
}

/** Where this Postfix keeps master and its daemons (Debian: /usr/lib/postfix/sbin). */
function daemonDirectory(postconf: string): string {
  try {
    return execFileSync(postconf, ['-dh', 'daemon_directory'], { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  } catch {
    return '/usr/lib/postfix/sbin';
  }
}

function lookUpTools(): { tools: E2eTools; missing: null } | { tools: null; missing: string } {
  const postfix = findExecutable('postfix');
  const postconf = findExecutable('postconf');
  const postqueue = findExecutable('postqueue');
  const master = postconf === null ? null : findExecutable('master', [daemonDirectory(postconf)]);
  const smtpSink = findExecutable('smtp-sink');
  const swaks = findExecutable('swaks');
  if (postfix === null || postconf === null || postqueue === null || master === null || smtpSink === null || swaks === null) {
    const absent = Object.entries({ postfix, postconf, postqueue, master, 'smtp-sink': smtpSink, swaks })
      .filter(([, path]) => path === null)
      .map(([tool]) => tool);
    return { tools: null, missing: `${absent.join(', ')} not found (Debian/Ubuntu: apt-get install postfix swaks)` };
  }
  if (process.getuid?.() !== 0) return { tools: null, missing: 'not running as root (Postfix’s master daemon only runs as root)' };
  return { tools: { postfix, postconf, postqueue, master, smtpSink, swaks }, missing: null };
}

const lookup = lookUpTools();

/** The tools' paths, or null when the suite cannot run here. */
export const e2eTools: E2eTools | null = lookup.tools;

/** Why the suite cannot run here, or null when it can. */
export const e2eMissing: string | null = lookup.missing;

/** A describe() name that carries the skip reason into the test report. */
export function e2eSuiteName(name: string): string {
  return e2eMissing === null ? name : `${name} — SKIPPED: ${e2eMissing}`;
}

let warned = false;
/** Warns once per test file when the suite is skipped. */
export function warnIfSkipped(): void {
  if (e2eMissing === null || warned) return;
  warned = true;
  console.warn(`\n*** Postfix end-to-end tests SKIPPED: ${e2eMissing}. See docs/testing.md. ***\n`);
}

/** The tools, for code that only runs when the suite is not skipped. */
export function requireTools(): E2eTools {
  if (e2eTools === null) throw new Error(`end-to-end tools unavailable: ${e2eMissing ?? 'unknown reason'}`);
  return e2eTools;
}
