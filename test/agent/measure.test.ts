// Measuring one peer (agent/measure.ts): whatever a probe or the throughput runner does, each
// measurement is one valid Result; a crash or a malformed answer is an `internal` error Result. A round or
// test that shutdown cut short is dropped, never emitted.
import { describe, expect, it } from 'vitest';
import { type MeasureDeps, Measurer } from '../../agent/measure.ts';
import type { ThroughputRunner } from '../../probes/throughput.ts';
import type { RttProbe } from '../../probes/types.ts';
import { type Result, resultSchema } from '../../shared/result.ts';
import { samplePlan } from './sample-plan.ts';

const plan = samplePlan();
const peerB = plan.peers[0]!;
const slot = plan.throughput.slots[0]!;

function measurer(over: Partial<MeasureDeps>) {
  const emitted: Result[] = [];
  const dropped: Result[] = [];
  let clock = 1_700_000_000_000.4;
  const m = new Measurer({
    rttProbes: { icmp: unused, tcp: unused, udp: unused },
    runThroughput: async () => {
      throw new Error('no runner in this test');
    },
    now: () => {
      clock += 10;
      return clock;
    },
    signal: new AbortController().signal,
    emit: (r) => emitted.push(r),
    dropped: (r) => dropped.push(r),
    ...over,
  });
  return { m, emitted, dropped };
}

const unused: RttProbe = async () => {
  throw new Error('not this method');
};

describe('measuring a peer', () => {
  it('turns an RTT probe that throws into an internal error Result', async () => {
    const boom: RttProbe = async () => {
      throw new Error('boom');
    };
    const { m, emitted } = measurer({ rttProbes: { icmp: unused, tcp: unused, udp: boom } });
    await m.rttRound(plan, peerB);
    expect(emitted).toHaveLength(1);
    const r = resultSchema.parse(emitted[0]);
    expect(r).toMatchObject({
      kind: 'rtt',
      method: 'udp',
      src: 'A',
      dst: 'B',
      target: '127.0.0.2:4789',
      time_ms: 1_700_000_000_010,
      duration_ms: 10,
      error: { code: 'internal', message: 'udp probe to B (127.0.0.2) threw: boom' },
      rtt: null,
    });
  });

  it('turns a malformed RTT result into an internal error Result; a long message is cut to the schema’s limit', async () => {
    const malformed = (async () => ({ kind: 'rtt', junk: 'x'.repeat(3000) })) as unknown as RttProbe;
    const huge: RttProbe = async () => {
      throw new Error('y'.repeat(3000));
    };
    for (const probe of [malformed, huge]) {
      const { m, emitted } = measurer({ rttProbes: { icmp: unused, tcp: unused, udp: probe } });
      await m.rttRound(plan, peerB);
      expect(emitted).toHaveLength(1);
      const r = resultSchema.parse(emitted[0]);
      expect(r.error?.code).toBe('internal');
      expect(r.error?.message.length).toBeLessThanOrEqual(2000);
    }
  });

  it('runs a throughput slot both ways; a runner that throws yields one internal error Result per direction', async () => {
    const seen: boolean[] = [];
    const runner: ThroughputRunner = async (_target, opts) => {
      seen.push(opts.reverse);
      throw new Error('iperf3 exploded');
    };
    const { m, emitted } = measurer({ runThroughput: runner });
    await m.throughputSlot(plan, slot, peerB);
    expect(seen).toEqual([false, true]);
    expect(emitted.map((r) => resultSchema.parse(r))).toMatchObject([
      {
        kind: 'throughput',
        method: 'iperf3',
        src: 'A',
        dst: 'B',
        target: '127.0.0.2:5201',
        error: { code: 'internal', message: 'iperf3 test to B failed unexpectedly: iperf3 exploded' },
        throughput: null,
        loaded_rtt: null,
      },
      { error: { message: 'iperf3 reverse test to B failed unexpectedly: iperf3 exploded' } },
    ]);
  });

  it('starts no throughput test once shut down', async () => {
    const abort = new AbortController();
    abort.abort();
    let runs = 0;
    const { m, emitted } = measurer({
      signal: abort.signal,
      runThroughput: async () => {
        runs += 1;
        throw new Error('should not run');
      },
    });
    await m.throughputSlot(plan, slot, peerB);
    expect(runs).toBe(0);
    expect(emitted).toEqual([]);
  });

  it('drops a round that shutdown cut short: it is never emitted, whatever the probe made of it', async () => {
    const abort = new AbortController();
    // The probe as it ends when stopped mid-round: two answers, three probes never sent.
    const cutShort: RttProbe = async (target, opts) => {
      abort.abort();
      return {
        id: '00000000-0000-4000-8000-000000000001',
        kind: 'rtt',
        method: 'udp',
        src: target.src,
        dst: target.dst,
        target: `${target.host}:${target.port}`,
        time_ms: 1_700_000_000_000,
        duration_ms: 100,
        error: null,
        rtt: {
          sent: opts.count,
          received: 2,
          loss_percent: 60,
          rtt_min_ms: 0.07,
          rtt_median_ms: 0.07,
          rtt_p95_ms: 0.07,
          rtt_max_ms: 0.07,
          rtt_mean_ms: 0.07,
          rtt_stddev_ms: 0,
          jitter_ms: 0,
          jitter_method: 'rfc3550',
          samples_ms: [0.07, 0.07, null, null, null],
        },
      };
    };
    const { m, emitted, dropped } = measurer({
      signal: abort.signal,
      rttProbes: { icmp: unused, tcp: unused, udp: cutShort },
    });
    await m.rttRound(plan, peerB);
    expect(emitted).toEqual([]);
    expect(dropped).toHaveLength(1);
  });

  it('drops a throughput test that shutdown cut short, and starts no reverse test after it', async () => {
    const abort = new AbortController();
    const seen: boolean[] = [];
    const runner: ThroughputRunner = async (target, opts) => {
      seen.push(opts.reverse);
      abort.abort();
      return {
        id: '00000000-0000-4000-8000-000000000002',
        kind: 'throughput',
        method: 'iperf3',
        src: target.src,
        dst: target.dst,
        target: `${target.host}:${target.port}`,
        time_ms: 1_700_000_000_000,
        duration_ms: 300,
        error: { code: 'cancelled', message: 'iperf3 against 127.0.0.2:5201 was cancelled' },
        throughput: null,
        loaded_rtt: null,
      };
    };
    const { m, emitted, dropped } = measurer({ signal: abort.signal, runThroughput: runner });
    await m.throughputSlot(plan, slot, peerB);
    expect(seen).toEqual([false]);
    expect(emitted).toEqual([]);
    expect(dropped).toHaveLength(1);
  });
});
