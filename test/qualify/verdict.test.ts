import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  exitCodeFor,
  judgeLink,
  type LinkMeasurements,
  type LinkRequirementInput,
} from '../../qualify/verdict.ts';
import type { RttResult, ThroughputResult } from '../../shared/result.ts';
import { summarizeRtt } from '../../shared/stats.ts';

const link: LinkRequirementInput = {
  from: 'dallas',
  to: 'london',
  subclusters: ['sc1', 'sc2'],
  subcluster_count: 2,
  required_mbps: 10,
  max_rtt_ms: 80,
  max_loss_percent: 1,
  rtt_statistic: 'p95',
  derivation: '2 × 5 Mbps (sc1, sc2) = 10 Mbps',
};

function round(samples: (number | null)[]): RttResult {
  return {
    id: randomUUID(),
    kind: 'rtt',
    method: 'udp',
    src: 'dallas',
    dst: 'london',
    target: '127.0.0.2:4789',
    time_ms: 0,
    duration_ms: 1000,
    error: null,
    rtt: summarizeRtt(samples),
  };
}

function tput(
  protocol: 'tcp' | 'udp',
  direction: 'forward' | 'reverse',
  mbps: number,
  udpLoss = 0,
): ThroughputResult {
  return {
    id: randomUUID(),
    kind: 'throughput',
    method: 'iperf3',
    src: 'dallas',
    dst: 'london',
    target: '127.0.0.2:5201',
    time_ms: 0,
    duration_ms: 1000,
    error: null,
    loaded_rtt: null,
    throughput: {
      protocol,
      direction,
      streams: 1,
      duration_ms: 1000,
      goodput_bps: mbps * 1e6,
      sent_bps: mbps * 1e6,
      target_bps: protocol === 'udp' ? 10e6 : null,
      retransmits: protocol === 'tcp' ? 0 : null,
      sender_rtt_ms: null,
      udp_jitter_ms: protocol === 'udp' ? 0.1 : null,
      udp_loss_percent: protocol === 'udp' ? udpLoss : null,
      intervals_bps: [mbps * 1e6],
    },
  };
}

const healthy = (rtt: number, mbps: number): LinkMeasurements => ({
  rounds: [
    { result: round(Array.from({ length: 20 }, (_, i) => rtt + (i % 5) * 0.1)), loaded: false },
    { result: round(Array.from({ length: 20 }, () => rtt + 1)), loaded: true },
  ],
  tcp: [tput('tcp', 'forward', mbps), tput('tcp', 'reverse', mbps)],
  udp: [tput('udp', 'forward', 10), tput('udp', 'reverse', 10)],
  interrupted: false,
});

describe('qualification verdicts', () => {
  it('a link with room to spare passes every check', () => {
    const v = judgeLink(link, healthy(20, 50));
    expect(v.verdict).toBe('PASS');
    expect(v.checks.map((c) => c.verdict)).toEqual(['PASS', 'PASS', 'PASS', 'PASS', 'PASS', 'PASS', 'PASS']);
    expect(exitCodeFor([v])).toBe(0);
  });

  it('a slow link fails with the statistic, the limit and the margin', () => {
    const v = judgeLink(link, healthy(83, 50));
    expect(v.verdict).toBe('FAIL');
    const rtt = v.checks.find((c) => c.name === 'rtt');
    expect(rtt?.reason).toBe('p95 RTT 83.4 ms > 80 ms (3.4 ms over)');
    expect(exitCodeFor([v])).toBe(1);
  });

  it('a thin link fails and names the subclusters that need the bandwidth', () => {
    const v = judgeLink(link, healthy(20, 7.9));
    expect(v.verdict).toBe('FAIL');
    expect(v.checks.find((c) => c.name === 'tcp dallas → london')?.reason).toBe(
      'TCP goodput dallas → london 7.9 Mbps < 10 Mbps required (2 subclusters: sc1, sc2)',
    );
    expect(v.checks.find((c) => c.name === 'tcp london → dallas')?.verdict).toBe('FAIL');
  });

  it('within 10 % of a limit is a WARN, and the run still exits 0', () => {
    const v = judgeLink(link, healthy(75, 10.5));
    expect(v.verdict).toBe('WARN');
    expect(v.checks.find((c) => c.name === 'rtt')?.reason).toContain('within 10 % of the limit');
    expect(v.checks.find((c) => c.name === 'tcp dallas → london')?.reason).toContain(
      'within 10 % of the requirement',
    );
    expect(exitCodeFor([v])).toBe(0);
  });

  it('loss above the limit fails, idle and at the required UDP rate', () => {
    const m = healthy(20, 50);
    m.rounds[0] = {
      result: round([...Array.from({ length: 95 }, () => 20), null, null, null, null, null]),
      loaded: false,
    };
    m.udp[1] = tput('udp', 'reverse', 9.6, 4);
    const v = judgeLink(link, m);
    expect(v.checks.find((c) => c.name === 'loss')?.reason).toBe('loss 5.0 % > 1 % (4.0 % over)');
    expect(v.checks.find((c) => c.name === 'udp loss london → dallas')?.reason).toBe(
      'UDP loss at 10 Mbps london → dallas 4.0 % > 1 % (3.0 % over)',
    );
  });

  it('latency under load above the limit fails even when the idle link is fast', () => {
    const m = healthy(20, 50);
    m.rounds[1] = { result: round(Array.from({ length: 20 }, () => 95)), loaded: true };
    const v = judgeLink(link, m);
    expect(v.checks.find((c) => c.name === 'rtt under load')?.reason).toBe(
      'p95 RTT under load 95.0 ms > 80 ms (15.0 ms over)',
    );
    expect(v.verdict).toBe('FAIL');
  });

  it('a link that answers nothing fails; a measurement that could not run is an ERROR (exit 2)', () => {
    const dead = judgeLink(link, {
      rounds: [{ result: round([null, null, null]), loaded: false }],
      tcp: [],
      udp: [],
      interrupted: false,
    });
    expect(dead.verdict).toBe('FAIL');
    expect(dead.checks[0]?.reason).toBe(
      'no reply to any of 3 probes: the link is down or the reflector does not answer',
    );

    const m = healthy(20, 50);
    m.tcp[0] = {
      ...tput('tcp', 'forward', 0),
      throughput: null,
      error: { code: 'refused', message: 'iperf3 at 127.0.0.2:5201 refused the connection' },
    };
    const v = judgeLink(link, m);
    expect(v.verdict).toBe('ERROR');
    expect(v.checks.find((c) => c.verdict === 'ERROR')?.reason).toBe(
      'TCP goodput dallas → london not measured: iperf3 at 127.0.0.2:5201 refused the connection',
    );
    expect(exitCodeFor([v])).toBe(2);
    expect(exitCodeFor([v, dead])).toBe(1);
  });

  it('a run stopped early cannot pass', () => {
    expect(judgeLink(link, { ...healthy(20, 50), interrupted: true }).verdict).toBe('ERROR');
  });
});
