import { createRequire } from 'node:module';
import type Handlebars from 'handlebars';
import { causeOf, MlbError } from '../errors.js';
import { isFormatted, TEMPLATE_BY_NAME, type TemplateSpec, variablesOf } from './template-registry.js';

/** mlb-ts's own templates are Handlebars; marathon-lb's are Python str.format text. */
export type TemplateFormat = 'handlebars' | 'marathon-lb';

export type TemplateContext = Record<string, string | number | boolean | undefined>;
/** Renders with `ctx`; `extra` (per server, per vhost) overrides it without copying it. */
export type Render = (ctx: TemplateContext, extra?: TemplateContext) => string;

export interface TemplateSource {
  source: string;
  format: TemplateFormat;
  /** Where it came from, for error messages: a file path, a label name, "default". */
  origin: string;
}

let hbEnv: typeof Handlebars | undefined;

/**
 * Handlebars, loaded the first time a template needs it: every default template compiles
 * without it (see plainParts), and its compiler with source-map is ~250 KB of code that a
 * `mlb-ts render` would otherwise compile at every start. A plain require, so that the bundle
 * leaves it out.
 */
function hb(): typeof Handlebars {
  if (!hbEnv) {
    const loaded = createRequire(import.meta.url)('handlebars') as typeof Handlebars;
    // A template writes into the config and nowhere else: Handlebars' logger would print to stderr.
    loaded.logger.log = () => undefined;
    hbEnv = loaded.create();
  }
  return hbEnv;
}
/** The block helpers a template may use. */
const BLOCK_HELPERS = new Set(['if', 'unless', 'each', 'with']);
/**
 * The helpers known when compiling (with knownHelpersOnly, any other fails when it is loaded):
 * the block helpers, and not Handlebars' own `log` (it prints to stdout, into a --dry-run's config) or `lookup`.
 */
const KNOWN_HELPERS = { ...Object.fromEntries([...BLOCK_HELPERS].map((h) => [h, true])), log: false, lookup: false };

function specOf(name: string): TemplateSpec {
  const spec = TEMPLATE_BY_NAME.get(name);
  if (!spec) throw new MlbError('E_TEMPLATE_INVALID', `unknown template ${name}`);
  return spec;
}

/** Text, a variable, or (Handlebars `{{#if name}}` alone on its lines) parts shown when `name` is truthy. */
type Part = string | { variable: string } | { ifVariable: string; parts: Part[] };

/**
 * Parses marathon-lb's Python format syntax: `{name}` is a variable, `{{` and `}}` are
 * literal braces. Anything else with a brace (format specs, positional fields) is an error.
 */
export function parseMarathonLbFormat(source: string, known: Set<string>): Part[] {
  const parts: Part[] = [];
  let text = '';
  for (let i = 0; i < source.length; i++) {
    const c = source[i];
    const next = source[i + 1];
    if ((c === '{' && next === '{') || (c === '}' && next === '}')) {
      text += c;
      i++;
    } else if (c === '{') {
      const end = source.indexOf('}', i);
      const field = end < 0 ? '' : source.slice(i + 1, end);
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(field)) {
        throw new Error(`unsupported field '{${field}${end < 0 ? '' : '}'}' at offset ${i} (only {name}, {{ and }})`);
      }
      if (!known.has(field)) throw new Error(`unknown variable {${field}}; known: ${[...known].sort().join(', ')}`);
      if (text) parts.push(text);
      text = '';
      parts.push({ variable: field });
      i = end;
    } else if (c === '}') {
      throw new Error(`single '}' at offset ${i} (write '}}' for a literal brace)`);
    } else {
      text += c;
    }
  }
  if (text) parts.push(text);
  return parts;
}

/**
 * Parts (text, variables, `if` blocks) → one function of straight-line concatenation. Names
 * and text enter the generated code only as JSON string literals, so nothing in a template
 * can become code; constant keys make every variable a named (inline-cached) property load.
 * This runs for every server line of the cluster: it is the hottest code of a render.
 */
function renderParts(parts: Part[]): Render {
  const body = `let v, out = "";\n${partsCode(parts)}return out;`;
  return new Function('ctx', 'extra', body) as Render;
}

function partsCode(parts: Part[]): string {
  let code = '';
  for (const p of parts) {
    if (typeof p === 'string') {
      code += `out += ${JSON.stringify(p)};\n`;
    } else if ('ifVariable' in p) {
      code += `${lookupCode(p.ifVariable)}if (v) {\n${partsCode(p.parts)}}\n`;
    } else if (!(p.variable in Object.prototype)) {
      // (`{{constructor}}` & co. render nothing, as in Handlebars, which denies prototype access.)
      code += `${lookupCode(p.variable)}if (v !== undefined) out += v;\n`;
    }
  }
  return code;
}

/** `v` = the variable: from `extra` when it has it, else from `ctx`. */
function lookupCode(name: string): string {
  if (name in Object.prototype) return 'v = undefined; ';
  const key = JSON.stringify(name);
  return `v = extra === undefined ? undefined : extra[${key}]; if (v == null) v = ctx[${key}]; `;
}

/** Words Handlebars reads as something else than a variable of the context. */
const NOT_VARIABLES = new Set(['this', 'else', 'true', 'false', 'null', 'undefined']);
const SIMPLE_MUSTACHE = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g;

/**
 * Templates made of text, `{{ name }}`, and `{{#if name}}` … `{{/if}}` each alone on its line
 * (not nested, no `{{else}}`) — every default template, the per-server ones included — render
 * as string concatenation: same output as Handlebars, many times faster, and without loading
 * Handlebars. Anything else is undefined and goes to Handlebars. A block tag alone on its line
 * vanishes with its line, as Handlebars' "standalone" rule has it.
 */
export function plainParts(source: string): Part[] | undefined {
  const top: Part[] = [];
  let block: { ifVariable: string; parts: Part[] } | undefined;
  let text = '';
  const flush = () => {
    const parts = textParts(text);
    text = '';
    if (!parts) return false;
    (block ? block.parts : top).push(...parts);
    return true;
  };
  for (const line of source.split(/(?<=\n)/)) {
    const open = IF_LINE.exec(line);
    if (open) {
      if (block || !flush()) return undefined;
      block = { ifVariable: open[1] as string, parts: [] };
      if (NOT_VARIABLES.has(block.ifVariable)) return undefined;
    } else if (END_IF_LINE.test(line)) {
      if (!block || !flush()) return undefined;
      top.push(block);
      block = undefined;
    } else {
      text += line;
    }
  }
  if (block || !flush()) return undefined;
  return top;
}

const IF_LINE = /^[ \t]*\{\{#if\s+([A-Za-z_][A-Za-z0-9_]*)\s*\}\}[ \t]*\r?\n$/;
const END_IF_LINE = /^[ \t]*\{\{\/if\s*\}\}[ \t]*\r?\n$/;

/** Text and `{{ name }}` only, or undefined. */
function textParts(source: string): Part[] | undefined {
  if (source.includes('{{{') || source.includes('\\{{') || source.replace(SIMPLE_MUSTACHE, '').includes('{{')) return undefined;
  const parts: Part[] = [];
  let last = 0;
  for (const m of source.matchAll(SIMPLE_MUSTACHE)) {
    if (NOT_VARIABLES.has(m[1] as string)) return undefined;
    if (m.index > last) parts.push(source.slice(last, m.index));
    parts.push({ variable: m[1] as string });
    last = m.index + m[0].length;
  }
  if (last < source.length) parts.push(source.slice(last));
  return parts;
}

/**
 * A name that is no variable of the template is a typo: Handlebars would render it as nothing
 * (`backend {{bakend}}` → `backend `), where marathon-lb's format refuses it. Refused alike.
 */
function assertKnown(names: Iterable<string>, known: Set<string>): void {
  for (const name of names) {
    if (!known.has(name) && !NOT_VARIABLES.has(name)) throw new Error(`unknown variable {{${name}}}; known: ${[...known].sort().join(', ')}`);
  }
}

function partsVariables(parts: Part[]): string[] {
  return parts.flatMap((p) => (typeof p === 'string' ? [] : 'ifVariable' in p ? [p.ifVariable, ...partsVariables(p.parts)] : [p.variable]));
}

/** The parts of Handlebars' syntax tree read here (hbs.AST's nodes, loosely). */
interface HbNode {
  type: string;
  body?: HbNode[];
  path?: HbNode;
  params?: HbNode[];
  hash?: { pairs: { value: HbNode }[] };
  program?: HbNode;
  inverse?: HbNode | null;
  data?: boolean;
  depth?: number;
  parts?: string[];
  original?: unknown;
}

/**
 * The variables of the template's own context a Handlebars program reads: lone `{{name}}`s and the
 * arguments of blocks, but not inside `each`/`with` (another context there) nor `@data`, `../`.
 */
function handlebarsVariables(program: hbs.AST.Program): string[] {
  const names: string[] = [];
  const expr = (e: HbNode | undefined) => {
    if (e?.type === 'PathExpression' && !e.data && e.depth === 0 && e.parts?.[0] !== undefined) names.push(e.parts[0]);
    else if (e?.type === 'SubExpression') node(e);
  };
  const node = (n: HbNode | undefined | null): void => {
    if (!n) return;
    if (n.type === 'Program') for (const b of n.body ?? []) node(b);
    else if (n.type === 'MustacheStatement' || n.type === 'SubExpression') {
      // A lone name is a variable; with arguments it is a helper (an unknown one fails the compile).
      if ((n.params?.length ?? 0) === 0 && !n.hash) expr(n.path);
      for (const a of n.params ?? []) expr(a);
      for (const pair of n.hash?.pairs ?? []) expr(pair.value);
    } else if (n.type === 'BlockStatement') {
      for (const a of n.params ?? []) expr(a);
      const helper = n.path?.original;
      // `{{#name}}…{{/name}}` with no helper of that name is a section over the variable `name`.
      if (!BLOCK_HELPERS.has(String(helper))) expr(n.path);
      if (helper === 'if' || helper === 'unless') node(n.program);
      node(n.inverse);
    }
  };
  node(program as unknown as HbNode);
  return names;
}

/** More Handlebars blocks than any real template has; thousands nested take Handlebars seconds to minutes. */
const MAX_BLOCKS = 200;

/** Refuses a Handlebars source with more than MAX_BLOCKS blocks (`{{#…}}`): one app's label must not stall a render. */
function assertTameBlocks(source: string): void {
  let blocks = 0;
  for (let at = source.indexOf('{{'); at >= 0; at = source.indexOf('{{', at + 2)) {
    if (/^\{\{~?\s*#/.test(source.slice(at, at + 8)) && ++blocks > MAX_BLOCKS) throw new Error(`more than ${MAX_BLOCKS} blocks ({{#…}})`);
  }
}

/**
 * Compiles a template or throws E_TEMPLATE_INVALID naming template, origin and reason. A
 * marathon-lb-format source of a template marathon-lb copies as it is (TemplateSpec.formatted
 * false) is literal text, as there.
 */
export function compileTemplate(name: string, tpl: TemplateSource): Render {
  const spec = specOf(name);
  const invalid = (e: unknown) => new MlbError('E_TEMPLATE_INVALID', `template ${name} from ${tpl.origin} (${tpl.format}): ${causeOf(e)}`, { cause: e });
  try {
    if (tpl.format === 'marathon-lb') return renderParts(isFormatted(spec) ? parseMarathonLbFormat(tpl.source, variablesOf(spec)) : [tpl.source]);
    const known = variablesOf(spec);
    const plain = plainParts(tpl.source);
    if (plain) {
      assertKnown(partsVariables(plain), known);
      return renderParts(plain);
    }
    assertTameBlocks(tpl.source);
    const program = hb().parse(tpl.source);
    assertKnown(handlebarsVariables(program), known);
    const compiled = hb().compile(program, { noEscape: true, strict: false, preventIndent: true, data: false, knownHelpersOnly: true, knownHelpers: KNOWN_HELPERS });
    const render: Render = (ctx, extra) => {
      try {
        return compiled(extra ? { ...ctx, ...extra } : ctx);
      } catch (e) {
        throw invalid(e);
      }
    };
    // Handlebars compiles on first use: a first render here reports unknown helpers and partials now
    render({});
    return render;
  } catch (e) {
    throw e instanceof MlbError ? e : invalid(e);
  }
}

/** `{{`, what is between (no brace), `}}`. */
const MUSTACHE = /\{\{([^{}]*)\}\}/g;
/** Handlebars' block, inverse, comment, partial and unescaped forms: the sigil follows `{{` (or `{{~`) at once. */
const HANDLEBARS_SIGIL = /^~?[#/^!>&]/;
const HANDLEBARS_ELSE = /^~?\s*else(\s|~?$)/;
const LONE_NAME = /^~?\s*([A-Za-z_][A-Za-z0-9_]*)\s*~?$/;
const FIELD = /\{([A-Za-z_][A-Za-z0-9_]*)\}/y;

/** Whether `{{inner}}` is Handlebars' own: a block, `else`, a comment…, or a known variable alone. */
function isHandlebarsMustache(inner: string, known: Set<string>): boolean {
  if (HANDLEBARS_SIGIL.test(inner) || HANDLEBARS_ELSE.test(inner)) return true;
  const name = LONE_NAME.exec(inner)?.[1];
  return name !== undefined && (known.has(name) || name === 'this');
}

/** Whether the source, read as a Python format string, has a field `{name}` of a known variable. */
function hasFormatField(source: string, known: Set<string>): boolean {
  for (let i = 0; i < source.length; i++) {
    const c = source[i];
    if ((c === '{' || c === '}') && source[i + 1] === c) {
      i++;
    } else if (c === '{') {
      FIELD.lastIndex = i;
      const field = FIELD.exec(source)?.[1];
      if (field !== undefined && known.has(field)) return true;
    }
  }
  return false;
}

/**
 * A label value can be either format. It is Handlebars when it has mustaches, every one of
 * them is Handlebars' own (a block, `{{else}}`, a comment, or a variable of this template
 * alone: `{{ backend }}`), and it has no marathon-lb field `{name}` of a known variable.
 * marathon-lb's literal braces (`{{ ssl_fc }}`, `!{{ path /internal }}`) are not a lone
 * name, so they stay marathon-lb even when their first word is a variable's name.
 */
export function detectFormat(name: string, source: string): TemplateFormat {
  const known = variablesOf(specOf(name));
  const mustaches = [...source.matchAll(MUSTACHE)];
  if (mustaches.length === 0 || hasFormatField(source, known)) return 'marathon-lb';
  return mustaches.every(([, inner]) => isHandlebarsMustache(inner as string, known)) ? 'handlebars' : 'marathon-lb';
}

/**
 * Resolves templates by name: per-app label override > --templates DIR > default.
 * Label overrides compile once per distinct source text.
 */
export class TemplateSet {
  private readonly compiled = new Map<string, Render>();
  private readonly labelCache = new Map<string, Render>();
  /** Templates the operator's --templates DIR replaces with something else than the default. */
  private readonly overridden = new Set<string>();

  constructor(defaults: ReadonlyMap<string, TemplateSource>, overrides: ReadonlyMap<string, TemplateSource> = new Map()) {
    for (const spec of TEMPLATE_BY_NAME.values()) {
      const override = overrides.get(spec.name);
      const tpl = override ?? defaults.get(spec.name);
      if (!tpl) throw new MlbError('E_TEMPLATE_DIR', `no default template for ${spec.name}`);
      this.compiled.set(spec.name, compileTemplate(spec.name, tpl));
      if (override && !(override.format === 'handlebars' && override.source === defaults.get(spec.name)?.source)) this.overridden.add(spec.name);
    }
  }

  /** True when the operator's --templates DIR replaces this template. */
  isOverridden(name: string): boolean {
    return this.overridden.has(name);
  }

  get(name: string): Render {
    const r = this.compiled.get(name);
    if (!r) throw new MlbError('E_TEMPLATE_INVALID', `unknown template ${name}`);
    return r;
  }

  /** A per-app label template; throws E_TEMPLATE_INVALID if it doesn't compile. */
  fromLabel(name: string, label: string, source: string): Render {
    const key = `${name}\u0000${source}`;
    let r = this.labelCache.get(key);
    if (!r) {
      r = compileTemplate(name, { source, format: detectFormat(name, source), origin: `label ${label}` });
      this.labelCache.set(key, r);
    }
    return r;
  }
}
