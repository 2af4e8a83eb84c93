import { describe, expect, it } from 'vitest';
import { MlbError } from '../../../src/errors.js';
import { drainable, lbName, parseStatsCsv, readStats, sessionsOn } from '../../../src/zdd/lb.js';
import { rejection } from '../../helpers/models.js';
import { freePort } from '../../helpers/ports.js';

/** `show stat` of HAProxy 2.6 (header verbatim), servers edited: sessions, addresses, a quoted check description. */
const STATS = [
  '# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight,act,bck,chkfail,chkdown,lastchg,downtime,qlimit,pid,iid,sid,throttle,lbtot,tracked,type,rate,rate_lim,rate_max,check_status,check_code,check_duration,hrsp_1xx,hrsp_2xx,hrsp_3xx,hrsp_4xx,hrsp_5xx,hrsp_other,hanafail,req_rate,req_rate_max,req_tot,cli_abrt,srv_abrt,comp_in,comp_out,comp_byp,comp_rsp,lastsess,last_chk,last_agt,qtime,ctime,rtime,ttime,agent_status,agent_code,agent_duration,check_desc,agent_desc,check_rise,check_fall,check_health,agent_rise,agent_fall,agent_health,addr,cookie,mode,algo,conn_rate,conn_rate_max,conn_tot,intercepted,dcon,dses,wrew,connect,reuse,cache_lookups,cache_hits,srv_icur,src_ilim,qtime_max,ctime_max,rtime_max,ttime_max,eint,idle_conn_cur,safe_conn_cur,used_conn_cur,need_conn_est,uweight,agg_server_status,agg_server_check_status,agg_check_status,-,ssl_sess,ssl_reused_sess,ssl_failed_handshake,h2_headers_rcvd,h2_data_rcvd,h2_settings_rcvd,h2_rst_stream_rcvd,h2_goaway_rcvd,h2_detected_conn_protocol_errors,h2_detected_strm_protocol_errors,h2_rst_stream_resp,h2_goaway_resp,h2_open_connections,h2_backend_open_streams,h2_total_connections,h2_backend_total_streams,h1_open_connections,h1_open_streams,h1_total_connections,h1_total_streams,h1_bytes_in,h1_bytes_out,h1_spliced_bytes_in,h1_spliced_bytes_out,',
  'shop_8080,a_127_0_0_1_31000,0,0,2,0,,0,0,0,,0,,0,0,0,0,UP,1,1,0,,,1,,,1,2,1,,0,,2,0,,0,,,,0,0,0,0,0,0,,,,0,0,0,,,,,-1,,,0,0,0,0,,,,"Layer7 check passed, ""200 OK""",,,,,,,,127.0.0.1:31000,,http,,,,,,,,0,0,0,,,0,,0,0,0,0,0,0,0,0,0,1,,,,-,0,0,0,,,,,,,,,,,,,,,,,,,,,,',
  'shop_8080,mlb_spare_1,0,0,1,0,,0,0,0,,0,,0,0,0,0,DRAIN,1,1,0,,,1,,,1,2,1,,0,,2,0,,0,,,,0,0,0,0,0,0,,,,0,0,0,,,,,-1,,,0,0,0,0,,,,,,,,,,,,127.0.0.1:31002,,http,,,,,,,,0,0,0,,,0,,0,0,0,0,0,0,0,0,0,1,,,,-,0,0,0,,,,,,,,,,,,,,,,,,,,,,',
  'shop_8080,mlb_spare_2,0,0,0,0,,0,0,0,,0,,0,0,0,0,MAINT,1,1,0,,,1,,,1,2,1,,0,,2,0,,0,,,,0,0,0,0,0,0,,,,0,0,0,,,,,-1,,,0,0,0,0,,,,,,,,,,,,127.0.0.1:1,,http,,,,,,,,0,0,0,,,0,,0,0,0,0,0,0,0,0,0,1,,,,-,0,0,0,,,,,,,,,,,,,,,,,,,,,,',
  'other_9000,b_10_0_0_1_31000,0,0,5,0,,0,0,0,,0,,0,0,0,0,UP,1,1,0,,,1,,,1,2,1,,0,,2,0,,0,,,,0,0,0,0,0,0,,,,0,0,0,,,,,-1,,,0,0,0,0,,,,,,,,,,,,10.0.0.1:31000,,http,,,,,,,,0,0,0,,,0,,0,0,0,0,0,0,0,0,0,1,,,,-,0,0,0,,,,,,,,,,,,,,,,,,,,,,',
  'shop_8080,BACKEND,0,0,0,0,999,0,0,0,0,0,,0,0,0,0,UP,1,1,0,,0,1,0,,1,2,0,,0,,1,0,,0,,,,0,0,0,0,0,0,,,,0,0,0,0,0,0,0,-1,,,0,0,0,0,,,,,,,,,,,,,,http,roundrobin,,,,,,,0,0,0,0,0,,,0,0,0,0,0,,,,,1,0,0,0,-,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,',
  'f,FRONTEND,,,0,0,9986,0,0,0,0,0,0,,,,,OPEN,,,,,,,,,1,3,0,,,,0,0,0,0,,,,0,0,0,0,0,0,,0,0,0,,,0,0,0,0,,,,,,,,,,,,,,,,,,,,,http,,0,0,0,0,0,0,0,,,0,0,,,,,,,0,,,,,,,,,-,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,',
  ''
].join('\n');

describe('HAProxy stats CSV', () => {
  it('reads the server rows (not FRONTEND/BACKEND) with their sessions, addresses and status', () => {
    expect(parseStatsCsv(STATS, 'admin.sock')).toEqual([
      { proxy: 'shop_8080', server: 'a_127_0_0_1_31000', scur: 2, addr: '127.0.0.1:31000', status: 'UP' },
      { proxy: 'shop_8080', server: 'mlb_spare_1', scur: 1, addr: '127.0.0.1:31002', status: 'DRAIN' },
      { proxy: 'shop_8080', server: 'mlb_spare_2', scur: 0, addr: '127.0.0.1:1', status: 'MAINT' },
      { proxy: 'other_9000', server: 'b_10_0_0_1_31000', scur: 5, addr: '10.0.0.1:31000', status: 'UP' },
    ]);
  });

  it.each([
    ['one task, one server', ['127.0.0.1:31000'], 2, ['shop_8080/a_127_0_0_1_31000']],
    ['a spare slot the runtime API filled, found by address', ['127.0.0.1:31002'], 1, ['shop_8080/mlb_spare_1']],
    ['a task on two ports', ['127.0.0.1:31000', '10.0.0.1:31000'], 7, ['shop_8080/a_127_0_0_1_31000', 'other_9000/b_10_0_0_1_31000']],
    ['not load-balanced', ['127.0.0.1:40000'], 0, []],
  ])('sessionsOn: %s', (_, addrs, sessions, servers) => {
    expect(sessionsOn(parseStatsCsv(STATS, 'x'), new Set(addrs))).toEqual({ sessions, servers });
  });

  it('a stats page that shows no addresses (no `stats show-legends`, as marathon-lb\'s): the task\'s servers found by name', () => {
    const rows = parseStatsCsv(STATS, 'x').map(({ addr: _, ...r }) => r);
    const keys = new Set(['127.0.0.1:31000', 'a_127_0_0_1_31000']);
    expect(sessionsOn(rows, keys)).toEqual({ sessions: 2, servers: ['shop_8080/a_127_0_0_1_31000'] });
    expect(drainable(rows, keys)).toEqual([{ server: 'shop_8080/a_127_0_0_1_31000' }]);
    // With addresses shown, the address decides: a name alone does not match another address.
    expect(sessionsOn(parseStatsCsv(STATS, 'x'), new Set(['a_127_0_0_1_31000']))).toEqual({ sessions: 0, servers: [] });
  });

  it('drains only servers still in rotation (not draining, not in maintenance)', () => {
    const rows = parseStatsCsv(STATS, 'x');
    expect(drainable(rows, new Set(['127.0.0.1:31000', '127.0.0.1:31002', '127.0.0.1:1']))).toEqual([{ server: 'shop_8080/a_127_0_0_1_31000' }]);
    expect(drainable(rows, new Set(['10.9.9.9:1']))).toEqual([]);
  });

  it.each([
    ['an HTML stats page', '<html><body>Statistics Report</body></html>'],
    ['a CSV without the columns', '# a,b,c\n1,2,3\n'],
  ])('E_RUNTIME for %s', (_, text) => {
    expect(() => parseStatsCsv(text, 'http://lb:9090/haproxy?stats')).toThrow(MlbError);
  });
});

describe('a stats URL with user:password', () => {
  it('is named without them, in lbName and in errors', async () => {
    const port = await freePort();
    const lb = { kind: 'url', url: `http://admin:s3cret@127.0.0.1:${port}/stats;csv` } as const;
    expect(lbName(lb)).toBe(`http://127.0.0.1:${port}/stats;csv`);
    const e = await rejection(readStats(lb, 2000));
    expect(e.code).toBe('E_RUNTIME');
    expect(e.message).toBe(`http://127.0.0.1:${port}/stats;csv: no answer`);
  });
});
