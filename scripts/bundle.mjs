// Bundles the CLI (dist/cli/main.js, the package's bin): one module to load instead of ~150
// keeps the start of every `mlb-ts` run short. What only the daemon, the demo or zdd need
// (pino, eventsource, chokidar, execa) is split into chunks beside it, loaded on demand.
// dist/ keeps the per-module build (tsc) for the tests and benchmarks that import it.
import { chmodSync, readdirSync, rmSync } from 'node:fs';
import { build } from 'esbuild';

for (const f of readdirSync('dist/cli')) if (f.startsWith('chunk-')) rmSync(`dist/cli/${f}`);

await build({
  entryPoints: ['src/cli/main.ts'],
  outdir: 'dist/cli',
  entryNames: '[name]',
  // Same directory as main.js: paths resolved from import.meta.url (templates/, package.json) hold.
  chunkNames: 'chunk-[hash]',
  splitting: true,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: true,
  legalComments: 'none',
  // yargs' help layout measures text with string-width, which compiles an Intl.Segmenter and
  // emoji regexps at load (~40 ms of every start); mlb-ts's help is ASCII (src/cli/text-width.ts).
  alias: { 'string-width': './src/cli/text-width.ts' },
  logLevel: 'warning',
  // CommonJS dependencies (handlebars, pino) call require(): give the ESM bundle one.
  banner: { js: "import { createRequire as __mlbCreateRequire } from 'node:module'; const require = __mlbCreateRequire(import.meta.url);" },
});

// The package's bin: esbuild keeps the mode of a file it overwrites, and tsc just wrote this one
// without the executable bit, which `npx mlb-ts` needs.
chmodSync('dist/cli/main.js', 0o755);
