#!/usr/bin/env node
// `npm run build` (and `prepare`, so `npm ci` runs it): compiles src/ into dist/ with the TypeScript compiler,
// so the CLI and the server start as plain JavaScript. The sources import each other without extensions or with
// `.ts`; Node's ESM loader needs real file names, so each relative import is rewritten to the `.js` file tsc
// emits for it (a compiler transform, not text substitution). Static files beside the sources are copied, and
// the embedded database's template is made (`--no-template` skips it).
//
// Nothing is done when dist/ is newer than every input (`--force` rebuilds): npm runs `prepare` again on
// `npx countersign …` in this directory. A build is made beside dist/ and swapped in whole, so a running
// Countersign or CLI never sees a half-built dist/.
import { createHash } from 'node:crypto';
import { cpSync, existsSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const outDir = join(root, 'dist');
const building = join(root, 'dist.building');
const STAMP = '.build-stamp';
/** Directories of files that are not compiled but served or read at run time, relative to src/. */
const STATIC = ['sandbox/public'];
/** What a build reads: when none of it is newer than the last build's stamp, dist/ is up to date. */
const INPUTS = ['src', 'drizzle', 'tsconfig.json', 'tsconfig.build.json', 'package-lock.json', 'bin/build.js'];
const withTemplate = !process.argv.includes('--no-template');

function newestMtime(path) {
  const st = statSync(path, { throwIfNoEntry: false });
  if (!st) return 0;
  if (!st.isDirectory()) return st.mtimeMs;
  return Math.max(st.mtimeMs, ...readdirSync(path).map((name) => newestMtime(join(path, name))));
}

/** The migrations a template was made from: a template is reused while they are the same. */
function migrationsHash() {
  const h = createHash('sha256');
  const walk = (dir) => {
    for (const name of readdirSync(dir).sort()) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else h.update(name).update(readFileSync(p));
    }
  };
  walk(join(root, 'drizzle'));
  return h.digest('hex');
}

const stamp = statSync(join(outDir, STAMP), { throwIfNoEntry: false });
const templateReady = !withTemplate || existsSync(join(outDir, 'pgdata-template', 'PG_VERSION'));
if (!process.argv.includes('--force') && stamp && templateReady && Math.max(...INPUTS.map((p) => newestMtime(join(root, p)))) < stamp.mtimeMs) {
  process.stderr.write('dist/ is up to date (npm run build -- --force rebuilds it)\n');
  process.exit(0);
}

// Loaded only when there is something to build (it takes a moment to load).
const { default: ts } = await import('typescript');
const started = Date.now();
const configPath = join(root, 'tsconfig.build.json');
const parsed = ts.getParsedCommandLineOfConfigFile(configPath, { outDir: building }, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: (d) => fail([d]) });
if (!parsed) process.exit(1);
if (parsed.errors.length) fail(parsed.errors);

rmSync(building, { recursive: true, force: true });
const program = ts.createProgram({ rootNames: parsed.fileNames, options: parsed.options });
const result = program.emit(undefined, undefined, undefined, false, { before: [rewriteRelativeImports] });
const diagnostics = [...ts.getPreEmitDiagnostics(program), ...result.diagnostics];
if (diagnostics.length) fail(diagnostics);
for (const dir of STATIC) cpSync(join(root, 'src', dir), join(building, dir), { recursive: true });
process.stderr.write(`compiled src/ into dist/ in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);

// The embedded database's template: initdb and the migrations run once here instead of on a first start.
if (withTemplate) {
  const hash = migrationsHash();
  const previous = join(outDir, 'pgdata-template');
  const target = join(building, 'pgdata-template');
  let previousHash = null;
  try {
    previousHash = readFileSync(join(outDir, 'pgdata-template.migrations'), 'utf8').trim();
  } catch {
    /* none */
  }
  if (previousHash === hash && existsSync(join(previous, 'PG_VERSION'))) {
    cpSync(previous, target, { recursive: true });
    process.stderr.write('kept the embedded database template (the migrations have not changed)\n');
  } else {
    const t = Date.now();
    process.stderr.write('making the embedded database template (dist/pgdata-template)…\n');
    const { buildTemplate } = await import(new URL(`file://${join(building, 'embedded/database.js')}`).href);
    await buildTemplate(target);
    process.stderr.write(`  done in ${((Date.now() - t) / 1000).toFixed(1)} s\n`);
  }
  writeFileSync(join(building, 'pgdata-template.migrations'), `${hash}\n`);
}
writeFileSync(join(building, STAMP), `${new Date().toISOString()}\n`);
// Swapped in whole: the old dist/ is moved aside first, then removed.
const old = join(root, 'dist.old');
rmSync(old, { recursive: true, force: true });
if (existsSync(outDir)) renameSync(outDir, old);
renameSync(building, outDir);
rmSync(old, { recursive: true, force: true });

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
