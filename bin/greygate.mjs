#!/usr/bin/env node
// The `greygate` command. Runs the bundle `npm run build` makes (dist/greygate.mjs) when it is
// there, the TypeScript sources through tsx's loader otherwise (a checkout before any build).
import { existsSync } from 'node:fs';

const bundle = new URL('../dist/greygate.mjs', import.meta.url);
if (existsSync(bundle)) {
  await import(bundle.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../functions/runtime/cli.ts');
}
