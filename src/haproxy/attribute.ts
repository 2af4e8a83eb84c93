/**
 * Which proxies (frontends/backends/userlists) of a config `haproxy -c` blames: by the line
 * numbers in its alerts (`[file:LINE]`) and by the proxy names it quotes.
 */
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
    for (const m of a.matchAll(/\[[^\]]*:(\d+)\]/g)) {
      const s = sectionAt[Number(m[1]) - 1];
      if (s) names.add(s);
    }
    for (const m of a.matchAll(/(?:proxy|backend|frontend|userlist)\s+'([^']+)'/gi)) if (m[1]) names.add(m[1]);
  }
  return names;
}
