#!/usr/bin/env -S node --max-semi-space-size=4 --heap-growing-percent=30
// The `greygate` command. Runs the bundle `npm run build` makes (dist/greygate.mjs) when it is
// there, the TypeScript sources through tsx's loader otherwise (a checkout before any build).
// --max-semi-space-size=4 (MiB): a policy server makes many small short-lived objects; V8's default
// lets the young generation grow to 3 x 16 MiB under load, ~25 MiB more peak RSS. 4 MiB halves the
// scavenges of 2 MiB at ~20k decisions/s (A/B at 32 connections: 20-22k against 15-18k
// decisions/s, p99 5.5-6.7 against 6.4-7.3 ms) for ~3 MiB; 8 MiB measured no better.
// --heap-growing-percent=30: after a full GC, V8 lets the old generation grow to 1.3x what survived
// instead of up to 4x under a high allocation rate: peak RSS ~107 MiB against ~131 MiB under the
// bench's load, with no hard heap cap that a large whitelist could run into.
import { existsSync } from 'node:fs';

const bundle = new URL('../dist/greygate.mjs', import.meta.url);
if (existsSync(bundle)) {
  await import(bundle.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../functions/runtime/cli.ts');
}
