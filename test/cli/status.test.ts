// wanwatch status's table, rendered from a links reply.
import { describe, expect, it } from 'vitest';
import { renderStatus } from '../../cli/commands/status.ts';
import type { LinksReply } from '../../shared/wire.ts';

const alerts = {
  rtt_high: 'ok',
  loss_high: 'ok',
  goodput_low: 'ok',
  link_down: 'ok',
  throughput_failing: 'ok',
};
const direction = (rtt_ms: number | null) => ({
  src: 'a',
  dst: 'b',
  state: 'ok',
  rtt_ms,
  rtt_statistic: 'p95',
  max_rtt_ms: 80,
  loss_percent: 0,
  max_loss_percent: 1,
  goodput_bps: null,
  required_bps: 5e6,
  rounds_in_window: 3,
  last_result_ms: 1,
  last_throughput_ms: null,
  not_measured: null,
  goodput_stale: false,
  throughput_failure: null,
  alerts,
});
const reply = (rtt_ms: number | null) =>
  ({
    time_ms: 1,
    window_ms: 15_000,
    rtt_statistic: 'p95',
    links: [
      {
        sites: ['a', 'b'],
        subclusters: ['sc1'],
        required_mbps: 5,
        max_rtt_ms: 80,
        max_loss_percent: 1,
        derivation: '1 subcluster × 5 Mbps',
        state: 'ok',
        alerts,
        directions: [direction(rtt_ms)],
      },
    ],
  }) as unknown as LinksReply;

describe('wanwatch status table', () => {
  it('shows an RTT under 1 ms to the microsecond, not as 0, and longer ones to 0.1 ms', () => {
    expect(renderStatus(reply(0.014))).toMatch(/a → b\s+0\.014 \/ 80 ms/);
    expect(renderStatus(reply(23.456))).toMatch(/a → b\s+23\.5 \/ 80 ms/);
    expect(renderStatus(reply(null))).toMatch(/a → b\s+- \/ 80 ms/);
  });
});
