import { describe, expect, it } from 'vitest';
import { haproxyLineLevel } from '../../../src/daemon/reloader.js';

describe("haproxyLineLevel: HAProxy's routine lines are not warnings", () => {
  it.each<[string, string, 'debug' | 'info' | 'warn' | 'error']>([
    ['an old proxy stopping at a reload', '[WARNING]  (1234) : Proxy web_10001 stopped (cumulated conns: FE: 0, BE: 12).', 'debug'],
    ['the former worker after a reload', '[WARNING]  (1234) : Former worker (1240) exited with code 0 (Exit)', 'info'],
    ['the worker at a clean stop', '[WARNING]  (1234) : Current worker (1250) exited with code 0 (Exit)', 'info'],
    ['the master at a clean stop', '[WARNING]  (1234) : Exiting Master process...', 'info'],
    ['all workers gone at a clean stop', '[ALERT]    (1234) : All workers exited. Exiting... (0)', 'info'],
    ['a spare slot filled through the runtime API', '[WARNING]  (1250) : Server web_10001/mlb_spare_1 is UP/READY (leaving forced maintenance).', 'info'],
    ['a server taken out through the runtime API', '[WARNING]  (1250) : Server web_10001/10_0_0_1_31001 is going DOWN for maintenance. 1 active and 0 backup servers left.', 'info'],
    ['a server put in maintenance by HAProxy itself (DNS)', '[WARNING]  (1250) : Server web_10001/s1 is going DOWN for maintenance (DNS NX status). 0 active and 0 backup servers left.', 'warn'],
    ['a server failing its checks', '[WARNING]  (1250) : Server web_10001/10_0_0_1_31001 is DOWN, reason: Layer4 connection problem, info: "Connection refused".', 'warn'],
    ['a backend without servers', '[ALERT]    (1250) : backend web_10001 has no server available!', 'error'],
    ['a worker that crashed', '[ALERT]    (1234) : Current worker (1250) exited with code 139 (Segmentation fault)', 'error'],
    ['a former worker killed', '[WARNING]  (1234) : Former worker (1240) exited with code 143 (Terminated)', 'warn'],
    ['a notice', '[NOTICE]   (1234) : New worker (1260) forked', 'info'],
  ])('%s: %s → %s', (_name, line, level) => {
    expect(haproxyLineLevel(line)).toBe(level);
  });
});
