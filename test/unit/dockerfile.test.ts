import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

/** No Docker engine runs here: the Dockerfile's structure is checked by parsing it. */
interface Instruction {
  op: string;
  args: string;
  stage: number;
}

function parseDockerfile(text: string): Instruction[] {
  const joined = text.replace(/\\\n/g, ' ');
  const out: Instruction[] = [];
  let stage = -1;
  for (const raw of joined.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const m = /^([A-Za-z]+)\s+(.*)$/.exec(line);
    if (!m) throw new Error(`not an instruction: ${line}`);
    const op = (m[1] as string).toUpperCase();
    if (op === 'FROM') stage++;
    out.push({ op, args: (m[2] as string).replace(/\s+/g, ' '), stage });
  }
  return out;
}

const KNOWN = new Set(['FROM', 'RUN', 'COPY', 'ADD', 'WORKDIR', 'ENV', 'ARG', 'USER', 'EXPOSE', 'HEALTHCHECK', 'ENTRYPOINT', 'CMD', 'LABEL', 'VOLUME', 'STOPSIGNAL', 'SHELL']);
const ins = parseDockerfile(readFileSync('Dockerfile', 'utf8'));
const finalStage = Math.max(...ins.map((i) => i.stage));
const final = ins.filter((i) => i.stage === finalStage);
const one = (op: string) => {
  const found = final.filter((i) => i.op === op);
  expect(found, op).toHaveLength(1);
  return found[0] as Instruction;
};

describe('Dockerfile', () => {
  it('uses only known instructions', () => {
    for (const i of ins) expect(KNOWN.has(i.op), i.op).toBe(true);
  });

  it('is multi-stage: builds with Node 20, runs on Debian with HAProxy, ipvsadm and Node', () => {
    const froms = ins.filter((i) => i.op === 'FROM');
    expect(froms.length).toBeGreaterThanOrEqual(2);
    expect(froms[0]?.args).toMatch(/^node:20[-\w.]*bookworm[-\w.]* AS build$/);
    expect(froms[froms.length - 1]?.args).toMatch(/^node:20[-\w.]*bookworm/);
    const installs = final.filter((i) => i.op === 'RUN' && /apt-get install/.test(i.args)).map((i) => i.args).join(' ');
    expect(installs).toMatch(/\bhaproxy\b/);
    expect(installs).toMatch(/\bipvsadm\b/);
    expect(final.some((i) => i.op === 'COPY' && /--from=build \/src\/dist/.test(i.args))).toBe(true);
    for (const dir of ['templates', 'generated']) expect(final.some((i) => i.op === 'COPY' && new RegExp(`^${dir}\\b`).test(i.args)), dir).toBe(true);
  });

  it("the build stage has every file and directory the build script names (npm run build runs there)", () => {
    const build = (JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: Record<string, string> }).scripts.build as string;
    const named = [...build.matchAll(/(?:-p |node )([\w./-]+)/g)].map((m) => (m[1] as string).split('/')[0] as string);
    expect(named.length).toBeGreaterThan(0);
    const copied = ins.filter((i) => i.stage === 0 && i.op === 'COPY').flatMap((i) => i.args.split(' ').slice(0, -1));
    for (const path of named) expect(copied, path).toContain(path);
  });

  it('copies only files that exist in the repository', () => {
    for (const i of ins.filter((x) => x.op === 'COPY' && !x.args.startsWith('--from'))) {
      const sources = i.args.split(' ').slice(0, -1);
      for (const s of sources) expect(existsSync(s), s).toBe(true);
    }
  });

  it('runs mlb-ts by default as marathon-lb ran on public agents', () => {
    expect(JSON.parse(one('ENTRYPOINT').args)).toEqual(['mlb-ts']);
    expect(JSON.parse(one('CMD').args)).toEqual(['--sse', '--health-check', '--group', 'external']);
    expect(one('EXPOSE').args.split(' ').sort()).toEqual(['443', '80', '9090', '9091']);
  });

  it('checks its health on /healthz', () => {
    expect(one('HEALTHCHECK').args).toMatch(/127\.0\.0\.1:9095\/healthz/);
  });

  it('runs unprivileged, with only the capability HAProxy needs to bind :80 and :443', () => {
    const user = one('USER').args;
    expect(user).not.toMatch(/^(root|0)$/);
    const caps = [...ins.map((i) => i.args).join(' ').matchAll(/setcap '?([^' ]+)/g)].map((m) => m[1]);
    expect(caps).toEqual(['cap_net_bind_service=+ep']);
    expect(ins.some((i) => /--privileged|cap_sys_admin|chmod [0-7]*[4-7][0-7]{3} /i.test(i.args))).toBe(false);
  });
});
