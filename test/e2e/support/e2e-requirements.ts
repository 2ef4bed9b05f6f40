// What the end-to-end suite needs from the machine: Postfix (its master, postconf, smtp-sink),
// swaks, and root, because Postfix's master only runs as root. When something is missing the
// suite is skipped under a name that says why, and a warning says it again, so a machine without
// Postfix never looks like one where the suite passed.

import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

export const POSTFIX_DAEMON_DIR = '/usr/lib/postfix/sbin';

function findExecutable(name: string, extraDirs: readonly string[] = []): string | null {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/bin', ...extraDirs];
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

function lookUpTools(): { tools: E2eTools; missing: null } | { tools: null; missing: string } {
  const found = {
    postfix: findExecutable('postfix'),
    postconf: findExecutable('postconf'),
    postqueue: findExecutable('postqueue'),
    master: findExecutable('master', [POSTFIX_DAEMON_DIR]),
    smtpSink: findExecutable('smtp-sink'),
    swaks: findExecutable('swaks'),
  };
  const absent = Object.entries(found)
    .filter(([, path]) => path === null)
    .map(([tool]) => (tool === 'smtpSink' ? 'smtp-sink' : tool));
  if (absent.length > 0) {
    return { tools: null, missing: `${absent.join(', ')} not found (Debian/Ubuntu: apt-get install postfix swaks)` };
  }
  if (process.getuid?.() !== 0) return { tools: null, missing: 'not running as root (Postfix’s master daemon only runs as root)' };
  return { tools: found as E2eTools, missing: null };
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
