#!/usr/bin/env node
// `npm run build` (and `prepare`, so `npm ci` runs it): compiles src/ into dist/ with the TypeScript compiler,
// so the CLI and the server start as plain JavaScript. The sources import each other without extensions or with
// `.ts`; Node's ESM loader needs real file names, so each relative import is rewritten to the `.js` file tsc
// emits for it (a compiler transform, not text substitution). Static files beside the sources are copied, and
// the embedded database's template is made (`--no-template` skips it).
import { cpSync, existsSync, rmSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const outDir = join(root, 'dist');
/** Directories of files that are not compiled but served or read at run time, relative to src/. */
const STATIC = ['sandbox/public'];

const started = Date.now();
const configPath = join(root, 'tsconfig.build.json');
const parsed = ts.getParsedCommandLineOfConfigFile(configPath, {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: (d) => fail([d]) });
if (!parsed) process.exit(1);
if (parsed.errors.length) fail(parsed.errors);

rmSync(outDir, { recursive: true, force: true });
const program = ts.createProgram({ rootNames: parsed.fileNames, options: parsed.options });
const result = program.emit(undefined, undefined, undefined, false, { before: [rewriteRelativeImports] });
const diagnostics = [...ts.getPreEmitDiagnostics(program), ...result.diagnostics];
if (diagnostics.length) fail(diagnostics);
for (const dir of STATIC) cpSync(join(root, 'src', dir), join(outDir, dir), { recursive: true });
process.stderr.write(`compiled src/ into dist/ in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);

// The embedded database's template: initdb and the migrations run once here instead of on a first start.
if (!process.argv.includes('--no-template')) {
  const t = Date.now();
  process.stderr.write('making the embedded database template (dist/pgdata-template)…\n');
  const { buildTemplate } = await import(new URL('../dist/embedded/database.js', import.meta.url).href);
  await buildTemplate();
  process.stderr.write(`  done in ${((Date.now() - t) / 1000).toFixed(1)} s\n`);
}

function fail(diags) {
  const host = { getCanonicalFileName: (f) => f, getCurrentDirectory: () => root, getNewLine: () => '\n' };
  process.stderr.write(ts.formatDiagnosticsWithColorAndContext(diags, host));
  process.exit(1);
}

/** `./x`, `./x.ts` → `./x.js`; `./dir` → `./dir/index.js`. Package imports are left alone. */
function jsSpecifier(fromFile, spec) {
  if (!spec.startsWith('./') && !spec.startsWith('../')) return null;
  if (spec.endsWith('.json') || spec.endsWith('.js')) return null;
  const base = resolve(dirname(fromFile), spec);
  if (spec.endsWith('.ts')) return `${spec.slice(0, -3)}.js`;
  if (existsSync(`${base}.ts`)) return `${spec}.js`;
  if (existsSync(base) && statSync(base).isDirectory() && existsSync(join(base, 'index.ts'))) return `${spec}/index.js`;
  throw new Error(`${fromFile}: cannot resolve import "${spec}"`);
}

function rewriteRelativeImports(context) {
  const f = context.factory;
  return (sourceFile) => {
    const rewrite = (node) => {
      const file = sourceFile.fileName;
      if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
        const to = jsSpecifier(file, node.moduleSpecifier.text);
        if (to) {
          return ts.isImportDeclaration(node)
            ? f.updateImportDeclaration(node, node.modifiers, node.importClause, f.createStringLiteral(to), node.attributes)
            : f.updateExportDeclaration(node, node.modifiers, node.isTypeOnly, node.exportClause, f.createStringLiteral(to), node.attributes);
        }
      }
      if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword && node.arguments[0] && ts.isStringLiteral(node.arguments[0])) {
        const to = jsSpecifier(file, node.arguments[0].text);
        if (to) return f.updateCallExpression(node, node.expression, node.typeArguments, [f.createStringLiteral(to), ...node.arguments.slice(1)]);
      }
      return ts.visitEachChild(node, rewrite, context);
    };
    return ts.visitNode(sourceFile, rewrite);
  };
}
