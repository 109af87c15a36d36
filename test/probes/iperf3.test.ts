// The fixtures are real iperf3 3.12 -J reports captured on loopback (see test/fixtures/iperf3/README).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { classifyIperf3Error, iperf3ClientArgs, parseIperf3Report } from '../../probes/iperf3.ts';
import { throughputStatsSchema } from '../../shared/result.ts';

const fixture = (name: string) =>
  readFileSync(new URL(`../fixtures/iperf3/${name}.json`, import.meta.url), 'utf8');
const raw = (name: string) => JSON.parse(fixture(name));

describe('iperf3 3.12 JSON reports', () => {
  it('reads a two-stream TCP test: goodput from end.sum_received, retransmits, mean sender RTT, intervals after warm-up', () => {
    const r = parseIperf3Report(fixture('tcp-forward'), '127.0.0.1:5201');
    if (!r.ok) throw new Error(r.message);
    const j = raw('tcp-forward');
    expect(throughputStatsSchema.parse(r.stats)).toEqual(r.stats);
    expect(r.stats.protocol).toBe('tcp');
    expect(r.stats.direction).toBe('forward');
    expect(r.stats.streams).toBe(2);
    expect(r.stats.goodput_bps).toBe(j.end.sum_received.bits_per_second);
    expect(r.stats.sent_bps).toBe(j.end.sum_sent.bits_per_second);
    expect(r.stats.retransmits).toBe(j.end.sum_sent.retransmits);
    const rtts = j.end.streams.map((s: { sender: { mean_rtt: number } }) => s.sender.mean_rtt);
    expect(r.stats.sender_rtt_ms).toBeCloseTo((rtts[0] + rtts[1]) / 2 / 1000, 9);
    // -O 1 -t 2: the first interval is the omitted warm-up.
    expect(j.intervals[0].sum.omitted).toBe(true);
    expect(r.stats.intervals_bps).toEqual(
      j.intervals
        .filter((i: { sum: { omitted: boolean } }) => !i.sum.omitted)
        .map((i: { sum: { bits_per_second: number } }) => i.sum.bits_per_second),
    );
    expect(r.stats.udp_jitter_ms).toBeNull();
    expect(r.stats.target_bps).toBeNull();
  });

  it('reads a reverse TCP test and leaves the sender RTT unknown (the client did not send)', () => {
    const r = parseIperf3Report(fixture('tcp-reverse'), 'h:1');
    if (!r.ok) throw new Error(r.message);
    expect(r.stats.direction).toBe('reverse');
    expect(r.stats.goodput_bps).toBe(raw('tcp-reverse').end.sum_received.bits_per_second);
    expect(r.stats.sender_rtt_ms).toBeNull();
  });

  it('reads a UDP test at a target rate: jitter and loss from the receiver, the asked-for rate', () => {
    const r = parseIperf3Report(fixture('udp-5m'), 'h:1');
    if (!r.ok) throw new Error(r.message);
    const rec = raw('udp-5m').end.sum_received;
    expect(r.stats.protocol).toBe('udp');
    expect(r.stats.target_bps).toBe(5_000_000);
    expect(r.stats.goodput_bps).toBe(rec.bits_per_second);
    expect(r.stats.udp_jitter_ms).toBe(rec.jitter_ms);
    expect(r.stats.udp_loss_percent).toBe(rec.lost_percent);
    expect(r.stats.retransmits).toBeNull();
  });

  it('reads a reverse UDP test', () => {
    const r = parseIperf3Report(fixture('udp-reverse-2m'), 'h:1');
    if (!r.ok) throw new Error(r.message);
    expect(r.stats.direction).toBe('reverse');
    expect(r.stats.target_bps).toBe(2_000_000);
    expect(r.stats.udp_jitter_ms).toBe(raw('udp-reverse-2m').end.sum_received.jitter_ms);
  });

  it('turns "server is busy" (exit code 0 under -J) into a busy error naming the server', () => {
    const r = parseIperf3Report(fixture('server-busy'), '127.0.0.1:5201');
    expect(r).toMatchObject({ ok: false, code: 'busy' });
    if (!r.ok) expect(r.message).toContain('127.0.0.1:5201: the server is busy running a test');
  });

  it('turns "connection refused" into a refused error that says what to start', () => {
    const r = parseIperf3Report(fixture('connection-refused'), '127.0.0.1:5201');
    expect(r).toMatchObject({ ok: false, code: 'refused' });
    if (!r.ok) expect(r.message).toMatch(/Connection refused.*wanwatch reflector/);
  });

  it('reports output that is not JSON, or JSON of another shape, as a tool error', () => {
    expect(
      parseIperf3Report('iperf3: parameter error - must either be a client (-c) or server (-s)', 'h:1'),
    ).toMatchObject({
      ok: false,
      code: 'tool_error',
    });
    expect(parseIperf3Report('', 'h:1')).toMatchObject({ ok: false, code: 'tool_error' });
    expect(parseIperf3Report('{"start": {}, "intervals": 3, "end": {}}', 'h:1')).toMatchObject({
      ok: false,
      code: 'tool_error',
    });
    const unfinished = raw('tcp-forward');
    delete unfinished.end.sum_received;
    expect(parseIperf3Report(JSON.stringify(unfinished), 'h:1')).toMatchObject({
      ok: false,
      code: 'tool_error',
    });
  });

  it('classifies the error texts iperf3 prints', () => {
    expect(classifyIperf3Error('unable to connect to server: No route to host')).toBe('unreachable');
    expect(classifyIperf3Error('unable to connect to server: Connection timed out')).toBe('timeout');
    expect(classifyIperf3Error('error - unable to resolve host: Name or service not known')).toBe('dns');
    expect(classifyIperf3Error('something else')).toBe('tool_error');
  });
});

describe('iperf3 client arguments', () => {
  it('asks for JSON, whole seconds, warm-up, streams, reverse and a UDP rate', () => {
    expect(
      iperf3ClientArgs({
        host: '127.0.0.2',
        port: 5301,
        protocol: 'udp',
        duration_ms: 2500,
        omit_ms: 1000,
        streams: 4,
        reverse: true,
        rate_bps: 5_000_000,
        timeout_ms: 20_000,
      }),
    ).toEqual([
      '-c',
      '127.0.0.2',
      '-p',
      '5301',
      '-J',
      '-t',
      '3',
      '-O',
      '1',
      '-P',
      '4',
      '-R',
      '-u',
      '-b',
      '5000000',
      '--connect-timeout',
      '10000',
    ]);
  });
});
