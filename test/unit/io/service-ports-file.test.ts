import { chmodSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readServicePorts, servicePortsContent, servicePortsPathOf, writeServicePorts } from '../../../src/io/service-ports-file.js';
import { portKey } from '../../../src/model/service-ports.js';
import { scratchDirs } from '../../helpers/dirs.js';

const newDir = scratchDirs('mlb-ts-service-ports-');

describe('service-ports.json', () => {
  it('lives beside the config', () => {
    expect(servicePortsPathOf('/etc/haproxy/haproxy.cfg')).toBe('/etc/haproxy/service-ports.json');
  });

  it('round trip: written with sorted keys (deterministic), read back the same', () => {
    const file = join(newDir(), 'service-ports.json');
    const ports = new Map([
      [portKey('/zeta', 0), 10050],
      [portKey('/a1', 1), 10052],
      [portKey('/a1', 0), 10051],
    ]);
    expect(writeServicePorts(file, ports)).toBe(true);
    const text = readFileSync(file, 'utf8');
    expect(text).toBe('{\n  "/a1#0": 10051,\n  "/a1#1": 10052,\n  "/zeta#0": 10050\n}\n');
    expect(text).toBe(servicePortsContent(new Map([...ports].reverse())));
    const read = readServicePorts(file);
    expect(read.error).toBeUndefined();
    expect(read.content).toBe(text);
    expect([...read.ports].sort()).toEqual([...ports].sort());
  });

  it('is rewritten only when its content changes, atomically (no temp file left)', () => {
    const dir = newDir();
    const file = join(dir, 'service-ports.json');
    expect(writeServicePorts(file, new Map([['/a#0', 10050]]))).toBe(true);
    const before = statSync(file).ino;
    expect(writeServicePorts(file, new Map([['/a#0', 10050]]))).toBe(false);
    expect(statSync(file).ino).toBe(before);
    expect(writeServicePorts(file, new Map([['/a#0', 10051]]))).toBe(true);
    expect(readServicePorts(file).ports.get('/a#0')).toBe(10051);
    // emptied: the file says so
    expect(writeServicePorts(file, new Map())).toBe(true);
    expect(readFileSync(file, 'utf8')).toBe('{}\n');
    expect(readdirSync(dir)).toEqual(['service-ports.json']);
  });

  it('no assignments and no file: nothing is written', () => {
    const dir = newDir();
    expect(writeServicePorts(join(dir, 'service-ports.json'), new Map())).toBe(false);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('a missing file gives none, without an error', () => {
    expect(readServicePorts(join(newDir(), 'service-ports.json'))).toEqual({ ports: new Map() });
  });

  it('an unreadable or malformed file is ignored (none, with why)', () => {
    const dir = newDir();
    const file = join(dir, 'service-ports.json');
    for (const bad of ['{"/a#0": 100', '[10050]', 'null']) {
      writeFileSync(file, bad);
      const read = readServicePorts(file);
      expect(read.ports.size, bad).toBe(0);
      expect(read.error, bad).toBeTruthy();
    }
    // a directory where the file should be
    const asDir = join(newDir(), 'service-ports.json');
    mkdirSync(asDir);
    const read = readServicePorts(asDir);
    expect(read.ports.size).toBe(0);
    expect(read.error).toBeTruthy();
    // no read permission (root reads anyway)
    writeFileSync(file, '{"/a#0": 10050}');
    chmodSync(file, 0o000);
    try {
      const r = readServicePorts(file);
      if (r.error) expect(r.ports.size).toBe(0);
    } finally {
      chmodSync(file, 0o644);
    }
  });

  it('entries that are not ports are skipped', () => {
    const file = join(newDir(), 'service-ports.json');
    writeFileSync(file, JSON.stringify({ '/a#0': 10050, '/b#0': '10051', '/c#0': 1.5, '/d#0': -1, '/e#0': 70000 }));
    const read = readServicePorts(file);
    expect(read.error).toBeUndefined();
    expect([...read.ports]).toEqual([['/a#0', 10050]]);
  });
});
