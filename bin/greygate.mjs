#!/usr/bin/env -S node --max-semi-space-size=4 --heap-growing-percent=30
// The `greygate` command. Runs the bundle `npm run build` makes (dist/greygate.mjs) when it is
// there, the TypeScript sources through tsx's loader otherwise (a checkout before any build).
// --max-semi-space-size=4 (MiB): a policy server makes many small short-lived objects; V8's default
// lets the young generation grow to 3 x 16 MiB under load, which costs resident memory and buys no
// throughput here, while a 2 MiB space scavenges so often that throughput suffers.
// --heap-growing-percent=30: after a full GC, V8 lets the old generation grow to 1.3x what survived
// instead of up to 4x under a high allocation rate, which bounds peak RSS under load without a hard
// heap cap that a large whitelist could run into.
import { existsSync } from 'node:fs';

const bundle = new URL('../dist/greygate.mjs', import.meta.url);
if (existsSync(bundle)) {
  await import(bundle.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../functions/runtime/cli.ts');
}
