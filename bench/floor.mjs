/**
 * The floor under `mlb-ts render`'s figures: a process that does only what no renderer can skip —
 * Node's start, reading the apps document, JSON.parse of it, one `server` line per task and
 * writing the result. No labels, no validation, no frontends, no templates. Run by
 * bench/render.mjs on the same documents, interleaved with mlb-ts's runs, so a target below this
 * figure is out of reach for any Node program on the machine, not just mlb-ts.
 *
 *   node bench/floor.mjs APPS_JSON OUT_FILE
 */
import { readFileSync, writeFileSync } from 'node:fs';

const [docPath, outPath] = process.argv.slice(2);
const doc = JSON.parse(readFileSync(docPath, 'utf8'));
let out = '';
for (const app of doc.apps) {
  out += `backend ${app.id}\n`;
  for (const t of app.tasks ?? []) out += `  server ${t.host}_${t.ports?.[0]} ${t.host}:${t.ports?.[0]}\n`;
}
writeFileSync(outPath, out);
