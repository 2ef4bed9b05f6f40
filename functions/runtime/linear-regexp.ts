// Switches on V8's linear-time regular expression engine for this process, so that no whitelist
// regex can backtrack for long on a name the sender chose (functions/core/whitelist-regex.ts says
// how the whitelists use it). Each runtime's entry file calls this first thing, before any
// whitelist is compiled: a regex takes the setting it finds when it is created.
//
//   --enable-experimental-regexp-engine-on-excessive-backtracks
//       a match that backtracks more than the limit below is finished by the linear-time engine
//       instead (when that engine can run the regex; the whitelists refuse those it cannot).
//   --regexp-backtracks-before-fallback
//       that limit, a fifth of V8's default: the hand-over is then sooner, and ordinary whitelist
//       matches stay far below it.
//   --enable-experimental-regexp-engine
//       makes the `l` flag known, which the whitelists use to ask whether the engine can run a regex.
//
// Set at run time rather than on the command line, so that `npm start`, bin/greygate.mjs, the
// bundle and the Lambda (which takes no node flags) all get them from the same place. Node
// documents run-time flag changes as unsupported in general; these are read when a regex is
// created or run, and test/runtime/whitelist-regex-serve.test.ts checks on a real process that
// they work.

import { setFlagsFromString } from 'node:v8';

export const BACKTRACKS_BEFORE_LINEAR_ENGINE = 10_000;

export function enableLinearTimeRegExps(): void {
  setFlagsFromString('--enable-experimental-regexp-engine');
  setFlagsFromString('--enable-experimental-regexp-engine-on-excessive-backtracks');
  setFlagsFromString(`--regexp-backtracks-before-fallback=${BACKTRACKS_BEFORE_LINEAR_ENGINE}`);
}
