/** `[x:N]` naming an address (`[127.0.0.1:80]`, `[:::80]`, `[*:80]`), not a file and a line. */
function isAddress(x: string): boolean {
  return /^(\*|\d{1,3}(\.\d{1,3}){3}|[0-9a-f]*:[0-9a-f:.]*)$/i.test(x);
}

/**
 * Which proxies (frontends/backends/userlists) of a config HAProxy blames in its alerts (from
 * `haproxy -c`, or from a start or reload that failed): by the line numbers they cite
 * (`[file:LINE]`) and by the proxy names they quote (or name after "for frontend"/"for proxy").
 */
/** The config lines (trimmed) HAProxy's alerts cite by number (`[file:LINE]`). */
export function citedLines(alerts: string, config: string): string[] {
  const lines = config.split('\n');
  const cited: string[] = [];
  for (const m of alerts.matchAll(/\[([^\]]*):(\d+)\]/g)) {
    const line = isAddress(m[1] ?? '') ? undefined : lines[Number(m[2]) - 1]?.trim();
    if (line) cited.push(line);
  }
  return cited;
}

export function blamedSections(alerts: string[], config: string): Set<string> {
  const lines = config.split('\n');
  const sectionAt: (string | undefined)[] = [];
  let current: string | undefined;
  for (const line of lines) {
    const m = /^(frontend|backend|listen|userlist|global|defaults)\b\s*(\S*)/.exec(line);
    if (m) current = m[2] || m[1];
    sectionAt.push(current);
  }
  const names = new Set<string>();
  for (const a of alerts) {
    for (const m of a.matchAll(/\[([^\]]*):(\d+)\]/g)) {
      if (isAddress(m[1] ?? '')) continue;
      const s = sectionAt[Number(m[2]) - 1];
      if (s) names.add(s);
    }
    for (const m of a.matchAll(/(?:proxy|backend|frontend|userlist)\s+'([^']+)'/gi)) if (m[1]) names.add(m[1]);
    for (const m of a.matchAll(/\b(?:for|starting) (?:proxy|frontend|listen) ([^\s:'",;]+)/gi)) if (m[1]) names.add(m[1].replace(/\.$/, ''));
  }
  return names;
}
