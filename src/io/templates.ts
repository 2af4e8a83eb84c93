import { existsSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MlbError } from '../errors.js';
import { TEMPLATE_BY_NAME } from '../render/template-registry.js';
import { type TemplateSource, TemplateSet } from '../render/templates.js';
import { isDirectory } from './files.js';

/** The package's templates/ directory (same depth from src/io and dist/io). */
export const DEFAULT_TEMPLATES_DIR = fileURLToPath(new URL('../../templates/', import.meta.url));

export function readDefaultTemplates(dir = DEFAULT_TEMPLATES_DIR): Map<string, TemplateSource> {
  const out = new Map<string, TemplateSource>();
  for (const name of TEMPLATE_BY_NAME.keys()) {
    const file = join(dir, `${name}.hbs`);
    out.set(name, { source: readFileSync(file, 'utf8'), format: 'handlebars', origin: file });
  }
  return out;
}

/** What a template's file name looks like; anything else in the directory is not one. */
const TEMPLATE_LIKE = /^HAPROXY_[A-Z0-9_]+$/;

/**
 * Overrides from --templates DIR: `NAME.hbs` is Handlebars, an extension-less `NAME` is
 * marathon-lb's format. A `HAPROXY_[A-Z0-9_]+` name that is no template is an error, so a typo
 * is not silently ignored; other files (a README, an editor's backup) are skipped.
 */
export function readTemplateDir(dir: string): Map<string, TemplateSource> {
  if (!isDirectory(dir)) throw new MlbError('E_TEMPLATE_DIR', `--templates ${dir} is not a directory`);
  const out = new Map<string, TemplateSource>();
  for (const file of readdirSync(dir).sort()) {
    const path = join(dir, file);
    const ext = extname(file);
    const name = basename(file, ext);
    // Only names of templates are looked at: a README (or a dangling link of another name) is none of ours.
    if (file.startsWith('.') || (ext !== '' && ext !== '.hbs') || !TEMPLATE_LIKE.test(name)) continue;
    if (!isReadableFile(path)) continue;
    if (!TEMPLATE_BY_NAME.has(name)) throw new MlbError('E_TEMPLATE_DIR', `${path}: ${name} is not a template name (see mlb-ts labels --templates)`);
    if (out.has(name)) throw new MlbError('E_TEMPLATE_DIR', `${dir}: ${name} is given twice (${name} and ${name}.hbs)`);
    out.set(name, { source: readTemplateFile(path), format: ext === '.hbs' ? 'handlebars' : 'marathon-lb', origin: path });
  }
  return out;
}

/** Whether `path` is a file (a directory of a template's name is skipped); E_TEMPLATE_DIR for a link that leads nowhere. */
function isReadableFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch (e) {
    throw new MlbError('E_TEMPLATE_DIR', `cannot read the template ${path}`, { cause: e });
  }
}

function readTemplateFile(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new MlbError('E_TEMPLATE_DIR', `cannot read the template ${path}`, { cause: e });
  }
}

/** Defaults plus the operator's directory, compiled; throws E_TEMPLATE_INVALID / E_TEMPLATE_DIR. */
export function loadTemplateSet(dir?: string): TemplateSet {
  const own = dir !== undefined && existsSync(dir) && realpathSync(dir) === realpathSync(DEFAULT_TEMPLATES_DIR);
  return new TemplateSet(readDefaultTemplates(), dir && !own ? readTemplateDir(dir) : new Map());
}
