#!/usr/bin/env node
// Runs the TypeScript sources through tsx's loader, so an installed package and a checkout behave
// the same without a separate compile step.
import { register } from 'tsx/esm/api';

register();
await import('../functions/runtime/cli.ts');
