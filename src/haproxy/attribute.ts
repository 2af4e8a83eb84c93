/** `[x:N]` naming an address (`[127.0.0.1:80]`, `[:::80]`, `[*:80]`), not a file and a line. */
function isAddress(x: string): boolean {
  return /^(\*|\d{1,3}(\.\d{1,3}){3}|[0-9a-f]*:[0-9a-f:.]*)$/i.test(x);
}

/** The config line numbers an alert cites (`[file:LINE]`, not an `[address:port]`). */
function citedLineNumbers(alert: string): number[] {
  return [...alert.matchAll(/\[([^\]]*):(\d+)\]/g)].filter((m) => !isAddress(m[1] ?? '')).map((m) => Number(m[2]));
}

interface ConfigIndex {
  config: string;
  lines: string[];
  /** The section (proxy name, or global/defaults) each line is in. */
  sectionAt: (string | undefined)[];
}

let lastIndex: ConfigIndex | undefined;

/**
 * The config's lines and their sections, for the last config asked about: a failed reload's
 * alerts are attributed one by one, and at 5,000 apps splitting the 5 MB config for each of
 * them took seconds.
 */
function configIndex(config: string): ConfigIndex {
  if (lastIndex?.config === config) return lastIndex;
  const lines = config.split('\n');
  const sectionAt: (string | undefined)[] = [];
  let current: string | undefined;
  for (const line of lines) {
    const m = /^(frontend|backend|listen|userlist|global|defaults)\b\s*(\S*)/.exec(line);
    if (m) current = m[2] || m[1];
    sectionAt.push(current);
  }
  return (lastIndex = { config, lines, sectionAt });
}

/** The config lines (trimmed) HAProxy's alerts cite by number. */
export function citedLines(alerts: string, config: string): string[] {
  const { lines } = configIndex(config);
  return citedLineNumbers(alerts)
    .map((n) => lines[n - 1]?.trim())
    .filter((l): l is string => !!l);
}

/**
 * Which proxies (frontends/backends/userlists) of a config HAProxy blames in its alerts (from
 * `haproxy -c`, or from a start or reload that failed): by the line numbers they cite
 * (`[file:LINE]`) and by the proxy names they quote (or name after "for frontend"/"for proxy").
 */
export function blamedSections(alerts: string[], config: string): Set<string> {
  const { sectionAt } = configIndex(config);
  const names = new Set<string>();
  for (const a of alerts) {
    for (const n of citedLineNumbers(a)) {
      const s = sectionAt[n - 1];
      if (s) names.add(s);
    }
    for (const m of a.matchAll(/(?:proxy|backend|frontend|userlist)\s+'([^']+)'/gi)) if (m[1]) names.add(m[1]);
    for (const m of a.matchAll(/\b(?:for|starting) (?:proxy|frontend|listen) ([^\s:'",;]+)/gi)) if (m[1]) names.add(m[1].replace(/\.$/, ''));
  }
  return names;
}
