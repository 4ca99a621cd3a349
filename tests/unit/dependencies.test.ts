/**
 * The image runs `npm prune --omit=dev` (Dockerfile): whatever dist/ imports at run time must be in
 * package.json `dependencies`, or a component crash-loops with ERR_MODULE_NOT_FOUND on a real node
 * while every test here, run from a full node_modules, stays green. The server build is what
 * tsconfig.build.json compiles: its files (src/web is excluded: Vite bundles it into static files)
 * plus any file they import, followed the way tsc follows them, and bin/, which the image copies.
 * Imports erased at compile time (type-only) may come from devDependencies.
 */
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const BUILTINS = new Set(builtinModules);

/** An import that survives compilation: a module the emitted JavaScript loads. */
interface RuntimeImport {
  specifier: string;
  line: number;
}

/** Import forms whose specifier is not a string literal cannot be checked: they are reported as such. */
const COMPUTED = '<computed>';

/** `import { type A, type B } from` is erased whole; `import {} from` and `import 'x'` are kept. */
function allSpecifiersAreTypes(elements: ts.NodeArray<ts.ImportSpecifier | ts.ExportSpecifier>): boolean {
  return elements.length > 0 && elements.every((e) => e.isTypeOnly);
}

function isErasedImport(node: ts.ImportDeclaration): boolean {
  const clause = node.importClause;
  if (!clause) return false; // import 'side-effect'
  if (clause.phaseModifier === ts.SyntaxKind.TypeKeyword) return true; // import type … from
  if (clause.name) return false; // a default import is a value
  const bindings = clause.namedBindings;
  return bindings !== undefined && ts.isNamedImports(bindings) && allSpecifiersAreTypes(bindings.elements);
}

function isErasedExport(node: ts.ExportDeclaration): boolean {
  if (node.isTypeOnly) return true; // export type { … } from, export type * from
  const clause = node.exportClause;
  return clause !== undefined && ts.isNamedExports(clause) && allSpecifiersAreTypes(clause.elements);
}

/** The modules a TypeScript or JavaScript source loads at run time: `import`, `export … from`, `import()`, `require()`. */
function runtimeImports(fileName: string, text: string): RuntimeImport[] {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true);
  const found: RuntimeImport[] = [];
  const add = (node: ts.Node, expression: ts.Expression | undefined) => {
    const specifier = expression && ts.isStringLiteralLike(expression) ? expression.text : COMPUTED;
    found.push({ specifier, line: source.getLineAndCharacterOfPosition(node.getStart()).line + 1 });
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node)) {
      if (!isErasedImport(node)) add(node, node.moduleSpecifier);
      return;
    }
    if (ts.isExportDeclaration(node)) {
      if (node.moduleSpecifier && !isErasedExport(node)) add(node, node.moduleSpecifier);
      return;
    }
    if (ts.isImportEqualsDeclaration(node)) {
      if (!node.isTypeOnly && ts.isExternalModuleReference(node.moduleReference)) add(node, node.moduleReference.expression);
      return;
    }
    if (ts.isCallExpression(node)) {
      const callee = node.expression;
      const isImport = callee.kind === ts.SyntaxKind.ImportKeyword;
      const isRequire = ts.isIdentifier(callee) && callee.text === 'require';
      if (isImport || isRequire) add(node, node.arguments[0]);
    }
    // Types (`typeof import('x')`, `import('x').T`) are ImportTypeNodes, not calls: erased, never visited as imports.
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/**
 * The package a bare specifier loads, or undefined for what needs no package: relative and absolute
 * paths, `node:` and Node's builtin modules. `@scope/name/sub` → `@scope/name`, `name/sub` → `name`.
 */
function packageOf(specifier: string): string | undefined {
  if (specifier.startsWith('.') || specifier.startsWith('/') || specifier.startsWith('file:')) return undefined;
  if (specifier.startsWith('node:') || BUILTINS.has(specifier)) return undefined;
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

/** The source file a relative specifier of the build names (`./x.js` is written for `./x.ts`). */
function resolveRelative(from: string, specifier: string): string | undefined {
  const target = resolve(dirname(from), specifier);
  const stem = target.replace(/\.(m|c)?jsx?$/, '');
  const candidates = [target, ...['.ts', '.tsx', '.mts', '.cts'].map((ext) => stem + ext), join(target, 'index.ts')];
  return candidates.find((candidate) => existsSync(candidate) && !candidate.endsWith('.d.ts') && /\.[mc]?tsx?$/.test(candidate));
}

/** The server build's files: tsconfig.build.json's own, then every file they import at run time (as tsc follows them). */
function serverBuildFiles(): string[] {
  const configPath = join(REPO, 'tsconfig.build.json');
  const read = ts.readConfigFile(configPath, (path) => readFileSync(path, 'utf8'));
  const config: unknown = read.config;
  const error = read.error;
  if (error) throw new Error(ts.flattenDiagnosticMessageText(error.messageText, '\n'));
  const parsed = ts.parseJsonConfigFileContent(config, ts.sys, REPO, undefined, configPath);
  const files = new Set(parsed.fileNames.filter((f) => !f.endsWith('.d.ts')).map((f) => resolve(f)));
  for (const file of files) {
    // A Set visits what is added while iterating: this walks the import graph.
    for (const { specifier } of runtimeImports(file, readFileSync(file, 'utf8'))) {
      if (!specifier.startsWith('.')) continue;
      const target = resolveRelative(file, specifier);
      if (target) files.add(target);
    }
  }
  return [...files];
}

/** bin/: the entry point the image starts (`node /app/bin/nws-watermark.js`). */
function binFiles(): string[] {
  const dir = join(REPO, 'bin');
  return readdirSync(dir)
    .filter((name) => /\.[mc]?js$/.test(name))
    .map((name) => join(dir, name));
}

function runtimeDependencies(): Set<string> {
  const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
  return new Set(Object.keys(pkg.dependencies ?? {}));
}

describe('the import check itself', () => {
  const sample = [
    "import { readFileSync } from 'node:fs';",
    "import { join } from 'path';",
    "import { pipeline } from 'stream/promises';",
    "import express from 'express';",
    "import { AppsV1Api } from '@kubernetes/client-node/dist/gen/index.js';",
    "import type { Request } from 'express-serve-static-core';",
    "import { type Channel, type ConsumeMessage } from 'amqplib-types';",
    "import { type A, b } from 'mixed';",
    "import 'side-effect';",
    "import * as ns from 'namespaced';",
    "export { thing } from 'reexported';",
    "export * from 'star';",
    "export type { T } from 'type-reexport';",
    "export { type U } from 'type-only-named-reexport';",
    "type Lazy = typeof import('type-query');",
    "const lazy = async () => (await import('dynamic/sub/path.js')).default;",
    'const computed = (name: string) => import(name);',
    "import { local } from './local.js';",
  ].join('\n');

  it('keeps what the compiled JavaScript loads and drops what the compiler erases', () => {
    const specifiers = runtimeImports('sample.ts', sample).map((i) => i.specifier);
    expect(specifiers).toEqual([
      'node:fs',
      'path',
      'stream/promises',
      'express',
      '@kubernetes/client-node/dist/gen/index.js',
      'mixed',
      'side-effect',
      'namespaced',
      'reexported',
      'star',
      'dynamic/sub/path.js',
      COMPUTED,
      './local.js',
    ]);
  });

  it('names the package of a bare specifier and nothing for builtins and relative paths', () => {
    const packages = runtimeImports('sample.ts', sample).map((i) => packageOf(i.specifier));
    expect(packages).toEqual([
      undefined,
      undefined,
      undefined,
      'express',
      '@kubernetes/client-node',
      'mixed',
      'side-effect',
      'namespaced',
      'reexported',
      'star',
      'dynamic',
      COMPUTED,
      undefined,
    ]);
  });
});

describe('the server code the image runs', () => {
  it('is found from tsconfig.build.json: the CLI, every component and the QueueScaler file reader of the controller', () => {
    // Not src/web (excluded; Vite bundles it), unless a server file imports from it: then tsc compiles it too, and so it is checked.
    const files = serverBuildFiles().map((f) => relative(REPO, f));
    for (const file of ['cli.ts', 'api/server.ts', 'optimizer/server.ts', 'worker/server.ts', 'controller/local/local-controller.ts']) {
      expect(files).toContain(join('src', file));
    }
    expect(binFiles().map((f) => relative(REPO, f))).toEqual([join('bin', 'nws-watermark.js')]);
  });

  it('imports only packages listed in dependencies, the ones the image keeps after pruning dev dependencies', () => {
    const dependencies = runtimeDependencies();
    const missing: string[] = [];
    for (const file of [...serverBuildFiles(), ...binFiles()]) {
      for (const { specifier, line } of runtimeImports(file, readFileSync(file, 'utf8'))) {
        const pkg = packageOf(specifier);
        if (pkg !== undefined && !dependencies.has(pkg)) missing.push(`${relative(REPO, file)}:${line} imports ${specifier} (${pkg})`);
      }
    }
    expect(missing, 'move each package to dependencies (npm install --save), or import it with `import type`').toEqual([]);
  });
});
