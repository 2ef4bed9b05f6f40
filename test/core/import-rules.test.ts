// DESIGN.md's import rules: functions/core imports only itself (and ipaddr.js, for subnet keys) and
// stays pure; bridge/ imports only node:* and itself, so it bundles with no runtime dependency.

import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

function typeScriptFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith('.ts'))
    .map((name) => join(dir, name))
    .sort();
}

/** Every module specifier: static imports and re-exports (type-only too), side-effect and dynamic imports. */
function specifiers(source: string): string[] {
  const found: string[] = [];
  const patterns = [
    /\b(?:import|export)\s[^'"`;]*?\bfrom\s*['"]([^'"]+)['"]/g,
    /\bimport\s*['"]([^'"]+)['"]/g,
    /\bimport\s*\(\s*['"`]([^'"`]+)['"`]\s*\)/g,
    /\brequire\s*\(\s*['"`]([^'"`]+)['"`]\s*\)/g,
  ];
  for (const pattern of patterns) {
    for (const match of source.matchAll(pattern)) found.push(match[1] ?? '');
  }
  return found;
}

function isInside(dir: string, file: string, specifier: string): boolean {
  if (!specifier.startsWith('./') && !specifier.startsWith('../')) return false;
  const target = resolve(dirname(file), specifier);
  return target === dir || target.startsWith(dir + sep);
}

function violations(dir: string, allowed: (file: string, specifier: string) => boolean): string[] {
  const bad: string[] = [];
  for (const file of typeScriptFiles(dir)) {
    for (const specifier of specifiers(readFileSync(file, 'utf8'))) {
      if (!allowed(file, specifier)) bad.push(`${relative(ROOT, file)} imports '${specifier}'`);
    }
  }
  return bad;
}

describe('import rules', () => {
  it('finds every kind of import it is meant to check', () => {
    // Prepare: a file using each form, including a multi-line type import
    const source = [
      "import { a } from './a.ts';",
      "import type {\n  B,\n} from '../b.ts';",
      "export { c } from 'c-package';",
      "export * from './d.ts';",
      "import 'side-effect';",
      "const e = await import('node:fs');",
    ].join('\n');
    // Act
    const found = specifiers(source);
    // Assess
    expect(found.sort()).toEqual(['../b.ts', './a.ts', './d.ts', 'c-package', 'node:fs', 'side-effect']);
  });

  it('functions/core imports only functions/core and ipaddr.js', () => {
    // Prepare
    const core = join(ROOT, 'functions', 'core');
    // Act
    const bad = violations(core, (file, specifier) => specifier === 'ipaddr.js' || isInside(core, file, specifier));
    // Assess
    expect(typeScriptFiles(core).length).toBeGreaterThan(0);
    expect(bad).toEqual([]);
  });

  it('functions/core reads no clock, environment or randomness', () => {
    // Prepare
    const core = join(ROOT, 'functions', 'core');
    const impure = /\bDate\.now\s*\(|new Date\(\s*\)|\bprocess\.|\bMath\.random\s*\(|\bperformance\.now\s*\(/;
    // Act
    const bad = typeScriptFiles(core).filter((file) => impure.test(readFileSync(file, 'utf8')));
    // Assess
    expect(bad.map((file) => relative(ROOT, file))).toEqual([]);
  });

  it('bridge/ imports only node:* and bridge/ (passes while bridge/ is empty)', () => {
    // Prepare
    const bridge = join(ROOT, 'bridge');
    // Act
    const bad = violations(bridge, (file, specifier) => specifier.startsWith('node:') || isInside(bridge, file, specifier));
    // Assess
    expect(bad).toEqual([]);
  });
});
