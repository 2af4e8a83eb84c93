// Bundles the CLI into one file (dist/cli/main.js, the package's bin): one module to load
// instead of ~150 keeps the start of every `mlb-ts` run short. dist/ keeps the per-module
// build (tsc) for the tests and benchmarks that import it.
import { build } from 'esbuild';

await build({
  entryPoints: ['src/cli/main.ts'],
  outfile: 'dist/cli/main.js',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: true,
  legalComments: 'none',
  logLevel: 'warning',
  // CommonJS dependencies (handlebars, pino) call require(): give the ESM bundle one.
  banner: { js: "import { createRequire as __mlbCreateRequire } from 'node:module'; const require = __mlbCreateRequire(import.meta.url);" },
});
