import Handlebars from 'handlebars';
import { describe, expect, it } from 'vitest';
import { errorLine, MlbError } from '../../../src/errors.js';
import { readDefaultTemplates } from '../../../src/io/templates.js';
import { isFormatted, TEMPLATE_BY_NAME, TEMPLATES, variablesOf } from '../../../src/render/template-registry.js';
import { compileTemplate, detectFormat, parseMarathonLbFormat, plainParts, type TemplateFormat, type TemplateSource, TemplateSet } from '../../../src/render/templates.js';
import { VERBATIM_TEXT } from '../../helpers/render.js';

const SERVICE_VARS = variablesOf(TEMPLATE_BY_NAME.get('HAPROXY_BACKEND_HEAD')!);
const defaults = readDefaultTemplates();

function mlb(source: string, origin = 'test'): TemplateSource {
  return { source, format: 'marathon-lb', origin };
}

function hbs(source: string, origin = 'test'): TemplateSource {
  return { source, format: 'handlebars', origin };
}

function thrown(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  throw new Error('expected an error');
}

describe('parseMarathonLbFormat', () => {
  it.each<[string, (string | { variable: string })[]]>([
    ['', []],
    ['plain text\n', ['plain text\n']],
    ['backend {backend}\n', ['backend ', { variable: 'backend' }, '\n']],
    ['{backend}{servicePort}', [{ variable: 'backend' }, { variable: 'servicePort' }]],
    ['if {{ ssl_fc }}', ['if { ssl_fc }']],
    ['{{{backend}}}', ['{', { variable: 'backend' }, '}']],
    ['a }} b {{ c', ['a } b { c']],
    ['{{}}', ['{}']],
    ['{haproxy_dir}/x.map', [{ variable: 'haproxy_dir' }, '/x.map']],
  ])('%j', (source, parts) => {
    expect(parseMarathonLbFormat(source, SERVICE_VARS)).toEqual(parts);
  });

  it.each<[string, RegExp]>([
    ['{nosuch}', /^unknown variable \{nosuch\}; known: anyHost, appId, backend, /],
    ['{hostname} {sslCerts}', /^unknown variable \{sslCerts\}/],
    ['{backend:>10}', /^unsupported field '\{backend:>10\}' at offset 0 \(only \{name\}, \{\{ and \}\}\)$/],
    ['x {backend!r}', /^unsupported field '\{backend!r\}' at offset 2/],
    ['{0}', /^unsupported field '\{0\}'/],
    ['{}', /^unsupported field '\{\}'/],
    ['{backend.attr}', /^unsupported field '\{backend.attr\}'/],
    ['{backend[0]}', /^unsupported field '\{backend\[0\]\}'/],
    ['{ backend }', /^unsupported field '\{ backend \}'/],
    ['tail {backend', /^unsupported field '\{' at offset 5/],
    ['a } b', /^single '\}' at offset 2 \(write '\}\}' for a literal brace\)$/],
    ['{backend}}', /^single '\}' at offset 9/],
  ])('%j is refused', (source, message) => {
    expect(() => parseMarathonLbFormat(source, SERVICE_VARS)).toThrow(message);
  });
});

describe('detectFormat', () => {
  it.each<[string, string, TemplateFormat]>([
    ['no braces at all', '  option forwardfor\n', 'marathon-lb'],
    ['marathon-lb variables', 'backend {backend}\n', 'marathon-lb'],
    ['marathon-lb literal {{ ssl_fc }}', '  http-request add-header X-Forwarded-Proto https if {{ ssl_fc }}\n  use_backend {backend}\n', 'marathon-lb'],
    ['marathon-lb literal {{ path /x }}', '  http-request deny if {{ path /x }}\n', 'marathon-lb'],
    ['a literal brace pair around a variable', '{{ {backend} }}', 'marathon-lb'],
    ['handlebars known variable', '\nbackend {{backend}}\n', 'handlebars'],
    ['handlebars with spaces', '\nbackend {{ backend }}\n', 'handlebars'],
    ['handlebars block', '{{#if sslCert}}x{{/if}}', 'handlebars'],
    ['handlebars else', '{{#if sslCert}}x{{else}}y{{/if}}', 'handlebars'],
    ['handlebars comment', '{{! note }}backend {{backend}}', 'handlebars'],
    ['handlebars this', '{{#with backend}}{{this}}{{/with}}', 'handlebars'],
    ['one known and one unknown mustache', '{{backend}} if {{ ssl_fc }}', 'marathon-lb'],
    ['marathon-lb literal braces whose first word is a variable', '  http-request deny if {{ mode http }}\n', 'marathon-lb'],
    ['a known variable alone, and a marathon-lb field', '{{backend}} {balance}', 'marathon-lb'],
    ['a block, and a marathon-lb field', '{{#if sslCert}}x{{/if}} {backend}', 'marathon-lb'],
    ['a field after a literal brace pair', '{{{backend}}}', 'marathon-lb'],
    ['an unknown single-brace name is no marathon-lb field', '{{backend}} {nosuch}', 'handlebars'],
    ["HAProxy's own single braces", '{{backend}} if { ssl_fc }', 'handlebars'],
    ['handlebars whitespace control', 'a {{~backend~}} b', 'handlebars'],
    ['handlebars else if', '{{#if sslCert}}x{{else if mode}}y{{/if}}', 'handlebars'],
    ['handlebars inverse block', '{{^if sslCert}}x{{/if}}', 'handlebars'],
    ['handlebars unescaped', '{{&backend}}', 'handlebars'],
    ['a space before a sigil is no block', '{{ /internal }}', 'marathon-lb'],
    ['empty braces', 'x {{}}', 'marathon-lb'],
  ])('%s → %s', (_name, source, format) => {
    expect(detectFormat('HAPROXY_BACKEND_HEAD', source)).toBe(format);
  });

  // marathon-lb's escaped inline ACL `{{ path /internal }}` names `path`, a variable of this
  // template: it is still marathon-lb's literal braces, and {cleanedUpHostname} says so too.
  it.each<[string, string, TemplateFormat]>([
    ['the inline ACL with fields', '  acl host_{cleanedUpHostname} hdr(host) -i {hostname}\n  use_backend {backend} if host_{cleanedUpHostname} !{{ path /internal }}\n', 'marathon-lb'],
    ['the inline ACL alone', '  use_backend web if !{{ path /internal }}\n', 'marathon-lb'],
    ['the inline ACL with spaces', '  use_backend web if !{{  path  /internal  }}\n', 'marathon-lb'],
    ['its Handlebars twin', '  acl host_{{cleanedUpHostname}} hdr(host) -i {{hostname}}\n  use_backend {{backend}} if host_{{cleanedUpHostname}} !{ path /internal }\n', 'handlebars'],
    ['path alone is the variable', '  acl p path_beg {{ path }}\n', 'handlebars'],
  ])('HAPROXY_HTTP_FRONTEND_ACL: %s → %s', (_name, source, format) => {
    expect(detectFormat('HAPROXY_HTTP_FRONTEND_ACL', source)).toBe(format);
  });

  it.each(TEMPLATES.filter((t) => t.scope === 'port' && defaults.get(t.name)!.source.includes('{{')).map((t) => [t.name]))('the default %s pasted as a label is Handlebars', (name) => {
    expect(detectFormat(name, defaults.get(name)!.source)).toBe('handlebars');
  });

  it('knows variables per template: a server variable is only handlebars where servers are in scope', () => {
    expect(detectFormat('HAPROXY_BACKEND_SERVER_OPTIONS', '{{serverName}}')).toBe('handlebars');
    expect(detectFormat('HAPROXY_BACKEND_HEAD', '{{serverName}}')).toBe('marathon-lb');
  });

  it('an unknown template name is E_TEMPLATE_INVALID', () => {
    expect(thrown(() => detectFormat('HAPROXY_NOPE', '{x}'))).toMatchObject({ code: 'E_TEMPLATE_INVALID' });
  });
});

/** What marathon-lb copies as it is (config() emits these without .format()). */
const VERBATIM = [
  'HAPROXY_HEAD',
  'HAPROXY_HTTP_FRONTEND_HEAD',
  'HAPROXY_HTTP_FRONTEND_APPID_HEAD',
  'HAPROXY_HTTPS_GROUPED_FRONTEND_HEAD',
  'HAPROXY_BACKEND_HTTP_OPTIONS',
  'HAPROXY_BACKEND_STICKY_OPTIONS',
  'HAPROXY_BACKEND_HSTS_OPTIONS',
  'HAPROXY_HTTP_BACKEND_ACL_ALLOW_DENY',
  'HAPROXY_TCP_BACKEND_ACL_ALLOW_DENY',
];

describe('templates marathon-lb copies verbatim', () => {
  it('are exactly these', () => {
    expect(TEMPLATES.filter((t) => !isFormatted(t)).map((t) => t.name).sort()).toEqual([...VERBATIM].sort());
  });

  const TEXT = VERBATIM_TEXT;

  it.each(VERBATIM.map((name) => [name]))('%s in marathon-lb format is literal text, braces and all', (name) => {
    const source = TEXT[name]!;
    expect(compileTemplate(name, mlb(source))({ backend: 'web_10000', httpPort: 80 })).toBe(source);
    // What Python's format would read as fields or escapes is text too.
    expect(compileTemplate(name, mlb('{backend} {{ x }} }'))({ backend: 'web_10000' })).toBe('{backend} {{ x }} }');
  });

  it.each(VERBATIM.map((name) => [name]))('%s in Handlebars keeps its variables', (name) => {
    const [variable] = [...variablesOf(TEMPLATE_BY_NAME.get(name)!)];
    expect(compileTemplate(name, hbs(`[{{${variable}}}] if { ssl_fc }`))({ [variable!]: 'v' })).toBe('[v] if { ssl_fc }');
  });

  it.each(VERBATIM.filter((name) => TEMPLATE_BY_NAME.get(name)!.scope === 'port').map((name) => [name]))('%s as a label value without {{ is literal', (name) => {
    const set = new TemplateSet(defaults);
    expect(set.fromLabel(name, `HAPROXY_0_${name.slice('HAPROXY_'.length)}`, TEXT[name]!)({ backend: 'web_10000' })).toBe(TEXT[name]);
  });

  it('a formatted template still fills in its fields and reads {{ }} as a brace', () => {
    expect(compileTemplate('HAPROXY_HTTPS_FRONTEND_HEAD', mlb('  bind *:443 ssl {sslCerts} if {{ x }}'))({ sslCerts: 'crt /c.pem' })).toBe('  bind *:443 ssl crt /c.pem if { x }');
  });
});

describe('compileTemplate', () => {
  it.each<[string, TemplateSource, string]>([
    ['marathon-lb', mlb('backend {backend} {{x}}\n'), 'backend web_10000 {x}\n'],
    ['marathon-lb: an unset variable renders empty', mlb('[{sslCert}]'), '[]'],
    ['handlebars', hbs('backend {{backend}}\n'), 'backend web_10000\n'],
    ['handlebars does not HTML-escape', hbs('{{appId}} & <{{backend}}>'), '/a&b & <web_10000>'],
    ['handlebars if', hbs('{{#if sslCert}}ssl{{else}}plain{{/if}}'), 'plain'],
    ['handlebars keeps indentation and blank lines', hbs('\n  x {{backend}}\n\n'), '\n  x web_10000\n\n'],
  ])('%s', (_name, tpl, out) => {
    expect(compileTemplate('HAPROXY_BACKEND_HEAD', tpl)({ backend: 'web_10000', appId: '/a&b' })).toBe(out);
  });

  it.each<[string, TemplateSource, RegExp]>([
    ['marathon-lb unknown variable', mlb('{nosuchvar}', 'label HAPROXY_0_BACKEND_HEAD'), /^template HAPROXY_BACKEND_HEAD from label HAPROXY_0_BACKEND_HEAD \(marathon-lb\): unknown variable \{nosuchvar\}/],
    ['marathon-lb format spec', mlb('{backend:x}', '/etc/t/HAPROXY_BACKEND_HEAD'), /^template HAPROXY_BACKEND_HEAD from \/etc\/t\/HAPROXY_BACKEND_HEAD \(marathon-lb\): unsupported field/],
    ['handlebars unclosed block', hbs('{{#if backend}}x', 'dir/HAPROXY_BACKEND_HEAD.hbs'), /^template HAPROXY_BACKEND_HEAD from dir\/HAPROXY_BACKEND_HEAD\.hbs \(handlebars\): /],
    ['handlebars unclosed mustache', hbs('{{backend'), /^template HAPROXY_BACKEND_HEAD from test \(handlebars\): Parse error/],
    ['handlebars unknown helper', hbs('{{shout backend}}'), /\(handlebars\): You specified knownHelpersOnly, but used the unknown helper shout/],
    ['handlebars partial', hbs('{{> other}}'), /\(handlebars\): The partial other could not be found/],
    // Handlebars' log helper printed into mlb-ts's stdout (a --dry-run's config) and stderr.
    ['handlebars log helper', hbs('x{{log "INJECTED"}}'), /\(handlebars\): You specified knownHelpersOnly, but used the unknown helper log/],
    ['handlebars lookup helper', hbs('{{lookup backend 0}}'), /\(handlebars\): You specified knownHelpersOnly, but used the unknown helper lookup/],
    // Thousands of nested blocks took Handlebars minutes: one label could stall every render.
    ['handlebars with more than 200 blocks', hbs(`${'{{#if backend}}\n'.repeat(201)}x${'{{/if}}'.repeat(201)}`), /\(handlebars\): more than 200 blocks/],
  ])('%s → E_TEMPLATE_INVALID naming template and origin', (_name, tpl, message) => {
    const e = thrown(() => compileTemplate('HAPROXY_BACKEND_HEAD', tpl));
    expect(e).toBeInstanceOf(MlbError);
    expect(e).toMatchObject({ code: 'E_TEMPLATE_INVALID' });
    expect((e as Error).message).toMatch(message);
    expect((e as Error).message).not.toContain('\n');
  });

  it.each<[string, TemplateSource]>([
    ['marathon-lb', mlb("x {{ ssl_fc }} { ssl_fc }", 'label HAPROXY_0_BACKEND_HEAD')],
    ['handlebars', hbs('{{#if backend}}x', 'dir/HAPROXY_BACKEND_HEAD.hbs')],
  ])('a %s error says its reason once on the error line', (_name, tpl) => {
    const e = thrown(() => compileTemplate('HAPROXY_BACKEND_HEAD', tpl)) as MlbError;
    const reason = e.message.slice(e.message.indexOf('): ') + 3);
    expect(reason.length).toBeGreaterThan(10);
    expect(errorLine(e)).toBe(`E_TEMPLATE_INVALID: ${e.message}`);
    expect(errorLine(e).split(reason)).toHaveLength(2);
  });

  it('a handlebars error that only shows with data is still E_TEMPLATE_INVALID', () => {
    const render = compileTemplate('HAPROXY_BACKEND_HEAD', hbs('{{#if backend}}{{> other}}{{/if}}', 'label HAPROXY_0_BACKEND_HEAD'));
    const e = thrown(() => render({ backend: 'b' }));
    expect(e).toMatchObject({ code: 'E_TEMPLATE_INVALID', message: expect.stringMatching(/^template HAPROXY_BACKEND_HEAD from label HAPROXY_0_BACKEND_HEAD/) });
  });

  it('an unknown template name is E_TEMPLATE_INVALID', () => {
    expect(thrown(() => compileTemplate('HAPROXY_NOPE', hbs('x')))).toMatchObject({ code: 'E_TEMPLATE_INVALID', message: 'unknown template HAPROXY_NOPE' });
  });
});

describe('TemplateSet', () => {
  it('every default template compiles', () => {
    const set = new TemplateSet(defaults);
    for (const t of TEMPLATES) expect(typeof set.get(t.name)).toBe('function');
  });

  it('refuses a default set with a template missing', () => {
    const partial = new Map(defaults);
    partial.delete('HAPROXY_BACKEND_HEAD');
    expect(thrown(() => new TemplateSet(partial))).toMatchObject({ code: 'E_TEMPLATE_DIR', message: 'no default template for HAPROXY_BACKEND_HEAD' });
  });

  it('refuses an override that does not compile', () => {
    const overrides = new Map([['HAPROXY_HEAD', hbs('{{#if x}}', 'dir/HAPROXY_HEAD.hbs')]]);
    expect(thrown(() => new TemplateSet(defaults, overrides))).toMatchObject({ code: 'E_TEMPLATE_INVALID', message: expect.stringContaining('dir/HAPROXY_HEAD.hbs') });
  });

  it('get of an unknown name is E_TEMPLATE_INVALID', () => {
    expect(thrown(() => new TemplateSet(defaults).get('HAPROXY_NOPE'))).toMatchObject({ code: 'E_TEMPLATE_INVALID' });
  });

  describe('precedence: label > --templates DIR > default', () => {
    const set = new TemplateSet(defaults, new Map([['HAPROXY_BACKEND_HEAD', mlb('\nbackend {backend} # dir\n', 'dir/HAPROXY_BACKEND_HEAD')]]));
    const ctx = { backend: 'web_10000', balance: 'roundrobin', mode: 'http' };

    it.each<[string, () => string, string]>([
      ['default', () => set.get('HAPROXY_FRONTEND_BACKEND_GLUE')(ctx), '  use_backend web_10000\n'],
      ['dir override beats default', () => set.get('HAPROXY_BACKEND_HEAD')(ctx), '\nbackend web_10000 # dir\n'],
      ['label beats dir override', () => set.fromLabel('HAPROXY_BACKEND_HEAD', 'HAPROXY_0_BACKEND_HEAD', '\nbackend {backend} # label\n')(ctx), '\nbackend web_10000 # label\n'],
      ['label beats default (handlebars label)', () => set.fromLabel('HAPROXY_FRONTEND_BACKEND_GLUE', 'HAPROXY_0_FRONTEND_BACKEND_GLUE', '  use_backend {{backend}} # label\n')(ctx), '  use_backend web_10000 # label\n'],
    ])('%s', (_name, render, out) => {
      expect(render()).toBe(out);
    });
  });

  it('fromLabel compiles each distinct source once, and refuses a bad one naming the label', () => {
    const set = new TemplateSet(defaults);
    const a = set.fromLabel('HAPROXY_BACKEND_HEAD', 'HAPROXY_0_BACKEND_HEAD', 'x {backend}');
    expect(set.fromLabel('HAPROXY_BACKEND_HEAD', 'HAPROXY_1_BACKEND_HEAD', 'x {backend}')).toBe(a);
    expect(set.fromLabel('HAPROXY_FRONTEND_HEAD', 'HAPROXY_0_FRONTEND_HEAD', 'x {backend}')).not.toBe(a);
    const e = thrown(() => set.fromLabel('HAPROXY_BACKEND_HEAD', 'HAPROXY_2_BACKEND_HEAD', '{nosuch}'));
    expect(e).toMatchObject({ code: 'E_TEMPLATE_INVALID', message: expect.stringContaining('from label HAPROXY_2_BACKEND_HEAD (marathon-lb)') });
  });

  it.each<[string, Map<string, TemplateSource>, boolean]>([
    ['no overrides', new Map(), false],
    ['a different source', new Map([['HAPROXY_BACKEND_HEAD', hbs('\nbackend {{backend}}\n')]]), true],
    ['the default text again, as handlebars', new Map([['HAPROXY_BACKEND_HEAD', hbs(defaults.get('HAPROXY_BACKEND_HEAD')!.source)]]), false],
    ['the default text again, as marathon-lb', new Map([['HAPROXY_BACKEND_HEAD', mlb('\nbackend {backend}\n')]]), true],
    ['another template overridden', new Map([['HAPROXY_FRONTEND_HEAD', hbs('x')]]), false],
  ])('isOverridden(HAPROXY_BACKEND_HEAD) with %s → %s', (_name, overrides, overridden) => {
    expect(new TemplateSet(defaults, overrides).isOverridden('HAPROXY_BACKEND_HEAD')).toBe(overridden);
  });
});

describe('plain templates (rendered without Handlebars) render as Handlebars does', () => {
  const ctx = { backend: 'b_1', servicePort: 10000, mode: 'http', sslCert: '', serverId: 0, serverName: 'from ctx' };
  const extra = { serverName: 'srv_1', port: 31000 };
  const reference = (source: string) => Handlebars.create().compile(source, { noEscape: true, strict: false, preventIndent: true, data: false })({ ...ctx, ...extra });
  it.each<[string, string]>([
    ['variables and text', 'backend {{backend}}\n  bind *:{{servicePort}}\n'],
    ['spaces inside the braces', '{{ backend }}-{{  mode}}-{{port  }}'],
    ['empty and zero values', '[{{sslCert}}][{{serverId}}]'],
    ['extra over ctx', '{{serverName}}'],
    ['a lone closing pair is text', 'a }} b {{backend}}'],
    ['an escaped mustache (parser path)', 'a \\{{backend}} b'],
    ['a block (parser path)', '{{#if mode}}m={{mode}}{{/if}}'],
    ['a comment (parser path)', 'a{{! note }}b'],
    ['triple braces (parser path)', '{{{backend}}}'],
    ['whitespace control (parser path)', 'a {{~backend~}} b'],
    ['a path (parser path)', '{{this.backend}}'],
    ['literals (parser path)', '{{true}} {{false}} {{null}} {{undefined}} {{7}}'],
    ['an if block on its own lines, truthy', 'a\n{{#if mode}}\nm={{mode}}\n{{/if}}\nb\n'],
    ['an if block on its own lines, empty string', 'a\n{{#if sslCert}}\nshown\n{{/if}}\nb\n'],
    ['an if block on its own lines, zero', 'a\n{{#if serverId}}\nshown\n{{/if}}\nb\n'],
    ['an if block first and last, indented tags, CRLF', '  {{#if backend}}  \r\nx {{port}}\r\n\t{{/if}}\r\n'],
    ['an if block on an extra value', '{{#if serverName}}\n{{serverName}}\n{{/if}}\n'],
    ['two if blocks', '{{#if mode}}\n1\n{{/if}}\n{{#if sslCert}}\n2\n{{/if}}\n3'],
    ['an if block closing the template without a newline (parser path)', '{{#if mode}}\nx\n{{/if}}'],
    ['an inline if (parser path)', 'a {{#if mode}}x{{/if}} b\n'],
    ['nested ifs (parser path)', '{{#if mode}}\n{{#if backend}}\nx\n{{/if}}\n{{/if}}\n'],
    ['if with else (parser path)', '{{#if sslCert}}\nx\n{{else}}\ny\n{{/if}}\n'],
    ...[...readDefaultTemplates().entries()].map(([name, t]) => [`default ${name}`, t.source] as [string, string]),
  ])('%s', (name, source) => {
    // Rendered by concatenation, except the "(parser path)" rows, which Handlebars renders.
    expect(plainParts(source) !== undefined, 'rendered without Handlebars').toBe(!name.includes('(parser path)'));
    const render = compileTemplate(name.startsWith('default ') ? name.slice('default '.length) : 'HAPROXY_BACKEND_SERVER_OPTIONS', { source, format: 'handlebars', origin: 'test' });
    expect(render(ctx, extra)).toBe(reference(source));
  });

  // Handlebars renders a name that is no variable as nothing: a typo went unnoticed (marathon-lb's format refuses it).
  it.each<[string, string]>([
    ['a typo', 'backend {{bakend}}\n'],
    ['an if on a typo', 'a\n{{#if nope}}\nshown\n{{/if}}\nb\n'],
    ['a typo in an inline block (parser path)', 'a {{#if mode}}{{mdoe}}{{/if}}'],
    ['a typo in an else branch (parser path)', '{{#if mode}}x{{else}}{{nope}}{{/if}}'],
    ['a name of Object.prototype', '[{{constructor}}]'],
    ['a typo as a section (no helper of that name)', '{{#bakend}}x{{/bakend}}'],
  ])('%s is refused, naming it', (_name, source) => {
    expect(() => compileTemplate('HAPROXY_BACKEND_SERVER_OPTIONS', { source, format: 'handlebars', origin: 'test' })).toThrow(/\(handlebars\): unknown variable \{\{\w+\}\}; known: /);
  });

  it.each<[string, string]>([
    ['this and its fields', '{{this.backend}} {{#with backend}}{{this}}{{/with}}'],
    ['a new context inside each/with is not checked', '{{#with mode}}{{length}}{{/with}}'],
    ['@data and literals', '{{#each serverName}}{{@index}}{{/each}}{{true}}{{7}}'],
  ])('%s: accepted', (_name, source) => {
    expect(() => compileTemplate('HAPROXY_BACKEND_SERVER_OPTIONS', { source, format: 'handlebars', origin: 'test' })).not.toThrow();
  });
});
