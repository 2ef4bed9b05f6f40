// The uid/gid of the `postfix` user the Debian package creates: directories the test makes for
// Postfix's daemons and smtp-sink must belong to it.

import { execFileSync } from 'node:child_process';

let cached: { uid: number; gid: number } | undefined;

export function postfixIds(): { uid: number; gid: number } {
  if (cached) return cached;
  try {
    const uid = Number(execFileSync('id', ['-u', 'postfix']).toString().trim());
    const gid = Number(execFileSync('id', ['-g', 'postfix']).toString().trim());
    cached = { uid, gid };
    return cached;
  } catch (err) {
    throw new Error('there is no "postfix" user; reinstall the postfix package (apt-get install --reinstall postfix)', { cause: err });
  }
}
