import { describe, expect, it } from 'vitest';
import {
  alertEventLines,
  heartbeatLines,
  INFLUX_MAX_TIME_MS,
  line,
  linkStatusLines,
  resultLines,
  UnwritableRow,
} from '../../../collector/sinks/influx-schema.ts';
import { ConfigError, parseTopology } from '../../../shared/config/load.ts';
import { sampleData } from '../../support/sample-data.ts';

const T0 = 1_700_000_000_000;

describe('the line-protocol schema', () => {
  it('escapes tag values, string fields and measurement names as line protocol requires', () => {
    expect(
      line('m x,y', { 'a b': 'c,d=e', empty: '', none: undefined }, { s: 'say "hi" \\ ok', n: 1.5 }, 5),
    ).toBe('m\\ x\\,y,a\\ b=c\\,d\\=e s="say \\"hi\\" \\\\ ok",n=1.5 5');
  });

  it('writes backslashes in names as InfluxDB reads them, a trailing one with a space after it, and control characters as spaces', () => {
    const tags = (v: string) => line('m', { dst: v }, { n: 1 }, 5).split(' n=1')[0];
    expect(tags('a\\b')).toBe('m,dst=a\\b');
    expect(tags('a\\,b c')).toBe('m,dst=a\\\\,b\\ c');
    expect(tags('b\\')).toBe('m,dst=b\\\\ ');
    expect(tags('b\\\\')).toBe('m,dst=b\\\\\\ ');
    expect(tags('x\ny\tz\u0000')).toBe('m,dst=x\\ y\\ z\\ ');
    expect(line('m', {}, { s: 'line 1\r\nline 2 \\' }, 5)).toBe('m s="line 1  line 2 \\\\" 5');
  });

  it('refuses to write a time InfluxDB cannot store, or a point without a field', () => {
    const year2300 = Date.UTC(2300, 0, 1);
    expect(() => line('m', {}, { n: 1 }, year2300)).toThrow(UnwritableRow);
    expect(() => line('m', {}, { n: 1 }, year2300)).toThrow(
      'its time 2300-01-01T00:00:00.000Z is outside what InfluxDB can store (1677-09-21 to 2262-04-11)',
    );
    expect(line('m', {}, { n: 1 }, INFLUX_MAX_TIME_MS)).toBe(`m n=1 ${INFLUX_MAX_TIME_MS}`);
    expect(() => line('m', { a: 'b' }, { n: null, x: Number.NaN }, 5)).toThrow(
      'it has no field with a value',
    );
  });

  it('writes an RTT round with units in the field names, integers marked, and tags for src, dst and method', () => {
    const d = sampleData(T0, 1);
    const [l] = resultLines(d.results[0]!);
    expect(l).toMatch(/^wanwatch_rtt,dst=london,jitter_method=rtt-ipdv,method=udp,ok=true,src=dallas /);
    expect(l).toContain('sent=5i,received=5i,loss_percent=0,rtt_min_ms=20,');
    expect(l).toMatch(/rtt_p95_ms=[\d.]+,/);
    expect(l).toMatch(/ 1700000000000$/);
  });

  it('writes a failed round as ok=false with the error code as a tag and no null fields', () => {
    const failed = sampleData(T0, 1).results.find((r) => r.error !== null)!;
    const [l] = resultLines(failed);
    expect(l).toBe(
      `wanwatch_rtt,dst=london,error=timeout,method=udp,ok=false,src=dallas duration_ms=2000,error_message="no reply within 2 s, \\"all\\" lost" ${failed.time_ms}`,
    );
  });

  it('writes a throughput test with goodput_bps, direction as a tag and latency under load as loaded_* fields', () => {
    const t = sampleData(T0, 1).results.find((r) => r.kind === 'throughput')!;
    const [l] = resultLines(t);
    expect(l).toMatch(
      /^wanwatch_throughput,direction=forward,dst=london,method=iperf3,ok=true,protocol=tcp,src=dallas /,
    );
    expect(l).toContain('goodput_bps=4000000,');
    expect(l).toContain('retransmits=0i');
    expect(l).toContain('loaded_rtt_p95_ms=');
  });

  it('writes link status with the state as a tag and as an integer code, and the ratios to the requirement', () => {
    const s = sampleData(T0, 1).linkStatus[0]!;
    expect(linkStatusLines({ ...s, state: 'firing', rtt_ms: 96, goodput_bps: 5e6 })[0]).toBe(
      `wanwatch_link,dst=london,rtt_statistic=p95,src=dallas,state=firing state_code=2i,rtt_ms=96,loss_percent=0,goodput_bps=5000000,required_bps=10000000,max_rtt_ms=80,rtt_of_max_percent=120,goodput_of_required_percent=50 ${s.time_ms}`,
    );
  });

  it('writes alert events of links and agents with firing 1/0 and the summary', () => {
    const d = sampleData(T0, 1);
    expect(alertEventLines(d.alertEvents[2]!)[0]).toMatch(
      /^wanwatch_alert,link=dallas--london,rule=goodput_low,severity=critical,status=resolved,subject=link firing=0i,reminder=false,observed=11000000,threshold=10000000,unit="bps",worst_src="dallas",worst_dst="london",summary="goodput_low on dallas → london",dedup_key="wanwatch\/goodput_low\/dallas--london",/,
    );
    expect(alertEventLines(d.alertEvents[3]!)[0]).toMatch(
      /^wanwatch_alert,rule=agent_down,severity=critical,site=tokyo,status=firing,subject=agent firing=1i,/,
    );
  });

  it('writes heartbeats with site and version as tags', () => {
    const h = sampleData(T0, 3).heartbeats[0]!;
    expect(heartbeatLines(h)[0]).toBe(
      `wanwatch_agent,site=dallas,version=0.2.0 up=1i,uptime_s=60,spool_queued=0i,spool_dropped=0i,errors=0i,plan_version="p1" ${h.time_ms}`,
    );
  });
});

const SITES = `sites:
  dallas: {address: 10.1.0.10}
`;
function problems(text: string): string[] {
  try {
    parseTopology(text, 't.yaml');
  } catch (err) {
    if (err instanceof ConfigError) return err.issues.map((i) => `${i.path}: ${i.message}`);
    throw err;
  }
  return [];
}

describe('the outputs section of the topology file', () => {
  it('accepts an InfluxDB 1.x and a 2.x output and fills in the defaults', () => {
    const t = parseTopology(`${SITES}outputs:
  - {type: influxdb, version: 1, url: "http://127.0.0.1:8086", db: wanwatch, retention_policy: autogen, username: w, password_env: INFLUX_PASSWORD}
  - {type: influxdb, url: "http://127.0.0.1:8181", org: ops, bucket: wanwatch, token_env: INFLUX_TOKEN, batch_size: 500, flush_interval: 1s}
`);
    expect(t.outputs).toEqual([
      {
        type: 'influxdb',
        version: 1,
        url: 'http://127.0.0.1:8086',
        db: 'wanwatch',
        retention_policy: 'autogen',
        username: 'w',
        password_env: 'INFLUX_PASSWORD',
        batch_size: 1000,
        flush_interval: 5000,
        timeout: 10_000,
      },
      {
        type: 'influxdb',
        version: 2,
        url: 'http://127.0.0.1:8181',
        org: 'ops',
        bucket: 'wanwatch',
        token_env: 'INFLUX_TOKEN',
        batch_size: 500,
        flush_interval: 1000,
        timeout: 10_000,
      },
    ]);
    expect(parseTopology(SITES).outputs).toEqual([]);
  });

  it('names what is missing or mixed up between versions 1 and 2', () => {
    expect(
      problems(`${SITES}outputs:
  - {type: influxdb, version: 1, url: "http://127.0.0.1:8086", bucket: b, username: w}
  - {type: influxdb, url: "http://127.0.0.1:8086", db: x}
  - {type: influxdb, version: 3, url: "not a url", bucket: b, token_env: "bad name"}
  - {type: influx}
`),
    ).toEqual([
      'outputs[0].db: missing: the InfluxDB 1.x database to write to (version: 1)',
      'outputs[0].bucket: version 1 writes to `db`; bucket is for version 2',
      'outputs[0].password_env: missing: give both username and password_env, or neither',
      'outputs[1].bucket: missing: the bucket (InfluxDB 2.x/3.x) to write to (version: 2)',
      'outputs[1].db: db is for version 1; version 2 uses org, bucket and token_env',
      'outputs[2].url: expected an http(s) URL',
      'outputs[2].version: expected 1 (InfluxDB 1.x: db, retention_policy) or 2 (InfluxDB 2.x/3.x: org, bucket)',
      'outputs[2].token_env: must be an environment variable name',
      'outputs[3].type: expected type: influxdb',
    ]);
  });

  it('refuses two outputs with one name, or two unnamed outputs writing to the same place', () => {
    expect(
      problems(`${SITES}outputs:
  - {type: influxdb, name: main, version: 1, url: "http://127.0.0.1:8086", db: a}
  - {type: influxdb, name: main, version: 1, url: "http://127.0.0.1:8086", db: b}
  - {type: influxdb, version: 1, url: "http://127.0.0.1:8086", db: a}
  - {type: influxdb, version: 1, url: "http://127.0.0.1:8086/", db: a}
  - {type: influxdb, name: other, version: 1, url: "http://127.0.0.1:8086", db: a}
`),
    ).toEqual([
      'outputs[1].name: "main" is already the name of outputs[0]; give each output its own name',
      'outputs[3]: writes to the same place as outputs[2] (influxdb:http://127.0.0.1:8086?db=a); remove one, or give each a distinct name',
    ]);
    try {
      parseTopology(
        `${SITES}outputs:\n  - {type: influxdb, name: x, url: "http://h:1", bucket: a}\n  - {type: influxdb, name: x, url: "http://h:2", bucket: b}\n`,
        'site.yaml',
      );
      expect.unreachable('a ConfigError');
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as Error).message).toContain(
        'site.yaml:5: outputs[1].name: "x" is already the name of outputs[0]',
      );
    }
  });
});
