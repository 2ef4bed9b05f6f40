// DESIGN.md's import rules, checked on every source file:
//   pure      functions/core/ and selective greylisting's pure modules: only each other, ipaddr.js, tldts;
//             no clock, environment or randomness
//   policy/   the Postfix policy protocol: only node:* and itself
//   config/   functions/config/, the option table and its reader: node:*, policy/, the pure modules
//             and functions/packaged-files.ts (where the shipped whitelists are; node:* only)
//   bridge/   node:*, policy/, functions/config/ and itself, so it bundles with no runtime dependency
//   entries   a runtime's entry file (the CLI, serve, the Lambda handler, the bridge, the CDK app) is
//             imported by no other source file but another entry (`greygate bridge` loads the bridge's)

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

function violations(dir: string | string[], allowed: (file: string, specifier: string) => boolean): string[] {
  const bad: string[] = [];
  for (const file of (Array.isArray(dir) ? dir : typeScriptFiles(dir))) {
    for (const specifier of specifiers(readFileSync(file, 'utf8'))) {
      if (!allowed(file, specifier)) bad.push(`${relative(ROOT, file)} imports '${specifier}'`);
    }
  }
  return bad;
}

const at = (...parts: string[]): string => join(ROOT, ...parts);
const CORE = at('functions', 'core');
const SELECTIVE = at('functions', 'selective');
/** Selective greylisting's adapters: the DNS lookups and the step the composition roots build. */
const SELECTIVE_ADAPTERS = [join(SELECTIVE, 'dns-lists.ts'), join(SELECTIVE, 'selective-check.ts'), join(SELECTIVE, 'selective-options.ts')];
const PURE_FILES = [...typeScriptFiles(CORE), ...typeScriptFiles(SELECTIVE).filter((f) => !SELECTIVE_ADAPTERS.includes(f))];
const POLICY = at('policy');
const CONFIG = at('functions', 'config');
const PACKAGED_FILES = at('functions', 'packaged-files.ts');
const BRIDGE = at('bridge');
const ENTRY_FILES = [
  at('functions', 'runtime', 'cli.ts'),
  at('functions', 'runtime', 'serve.ts'),
  at('functions', 'runtime', 'lambda.ts'),
  join(BRIDGE, 'main.ts'),
  at('infra', 'bin', 'greygate.ts'),
];
const SOURCE_DIRS = [at('functions'), POLICY, BRIDGE, at('infra')];

const isNode = (specifier: string): boolean => specifier.startsWith('node:');
function target(file: string, specifier: string): string | null {
  return specifier.startsWith('./') || specifier.startsWith('../') ? resolve(dirname(file), specifier) : null;
}
function isPure(file: string, specifier: string): boolean {
  const t = target(file, specifier);
  return t !== null && PURE_FILES.includes(t);
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

  it('the pure modules (functions/core, selective scoring) import only each other, ipaddr.js and tldts', () => {
    // Act
    const bad = violations(PURE_FILES, (file, specifier) => specifier === 'ipaddr.js' || specifier === 'tldts' || isPure(file, specifier));
    // Assess
    expect(PURE_FILES.length).toBeGreaterThan(15);
    expect(bad).toEqual([]);
  });

  it('the pure modules read no clock, environment or randomness', () => {
    // Prepare
    const impure = /\bDate\.now\s*\(|new Date\(\s*\)|\bprocess\.|\bMath\.random\s*\(|\bperformance\.now\s*\(/;
    // Act
    const bad = PURE_FILES.filter((file) => impure.test(readFileSync(file, 'utf8')));
    // Assess
    expect(bad.map((file) => relative(ROOT, file))).toEqual([]);
  });

  it('policy/ imports only node:* and policy/', () => {
    // Act
    const bad = violations(POLICY, (file, specifier) => isNode(specifier) || isInside(POLICY, file, specifier));
    // Assess
    expect(typeScriptFiles(POLICY).length).toBeGreaterThan(4);
    expect(bad).toEqual([]);
  });

  it('functions/config/ imports only node:*, policy/, the pure modules, packaged-files.ts and itself', () => {
    // Act
    const bad = violations(
      CONFIG,
      (file, specifier) =>
        isNode(specifier) ||
        isInside(POLICY, file, specifier) ||
        isInside(CONFIG, file, specifier) ||
        isPure(file, specifier) ||
        target(file, specifier) === PACKAGED_FILES,
    );
    const packaged = violations([PACKAGED_FILES], (_file, specifier) => isNode(specifier));
    // Assess
    expect(typeScriptFiles(CONFIG).length).toBeGreaterThan(1);
    expect(bad).toEqual([]);
    expect(packaged).toEqual([]);
  });

  it('bridge/ imports only node:*, policy/, functions/config/ and itself', () => {
    // Act
    const bad = violations(
      BRIDGE,
      (file, specifier) =>
        isNode(specifier) || isInside(POLICY, file, specifier) || isInside(CONFIG, file, specifier) || isInside(BRIDGE, file, specifier),
    );
    // Assess
    expect(typeScriptFiles(BRIDGE).length).toBeGreaterThan(3);
    expect(bad).toEqual([]);
  });

  it("only a runtime's entry file imports another's (cli, serve, lambda, bridge/main, infra/bin)", () => {
    // Prepare
    const others = SOURCE_DIRS.flatMap(typeScriptFiles).filter((file) => !ENTRY_FILES.includes(file));
    // Act
    const bad = violations(others, (file, specifier) => {
      const t = target(file, specifier);
      return t === null || !ENTRY_FILES.includes(t);
    });
    // Assess
    expect(ENTRY_FILES.every((file) => existsSync(file))).toBe(true);
    expect(bad).toEqual([]);
  });

  it('reads process.env only in the entry files; everything else is handed its environment', () => {
    // Prepare
    const readers = [at('functions', 'runtime', 'cli.ts'), at('functions', 'runtime', 'lambda.ts'), join(BRIDGE, 'main.ts')];
    // Act
    const bad = SOURCE_DIRS.flatMap(typeScriptFiles)
      .filter((file) => !readers.includes(file) && /\bprocess\.env\b/.test(readFileSync(file, 'utf8')))
      .map((file) => relative(ROOT, file));
    // Assess
    expect(bad).toEqual([]);
  });
});
