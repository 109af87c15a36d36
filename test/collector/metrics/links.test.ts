// The per-link families are set and rendered once per links reply (one per evaluation), however many
// scrapes come in between; a new reply renders them again, with the latest rounds pushed.
import { describe, expect, it, vi } from 'vitest';
import { LatestRounds } from '../../../collector/metrics/latest-rounds.ts';
import { LinkMetrics } from '../../../collector/metrics/links.ts';
import type { LinksReply } from '../../../shared/wire.ts';
import { rttResult } from '../../../testbed/results.ts';

function reply(rtt_ms: number): LinksReply {
  const alerts = {
    rtt_high: 'ok',
    loss_high: 'ok',
    goodput_low: 'ok',
    link_down: 'ok',
    throughput_failing: 'ok',
  } as const;
  const direction = (src: string, dst: string) => ({
    src,
    dst,
    state: 'ok' as const,
    rtt_ms,
    rtt_statistic: 'p95',
    max_rtt_ms: 80,
    loss_percent: 0,
    max_loss_percent: 1,
    goodput_bps: null,
    required_bps: 5e6,
    rounds_in_window: 3,
    last_result_ms: 1_700_000_000_000,
    last_throughput_ms: null,
    not_measured: null,
    goodput_stale: false,
    throughput_failure: null,
    alerts,
  });
  return {
    time_ms: 1_700_000_000_000,
    window_ms: 300_000,
    rtt_statistic: 'p95',
    links: [
      {
        sites: ['a', 'b'],
        subclusters: ['sc1'],
        required_mbps: 5,
        max_rtt_ms: 80,
        max_loss_percent: 1,
        derivation: '',
        state: 'ok',
        alerts,
        directions: [direction('a', 'b'), direction('b', 'a')],
      },
    ],
  };
}

describe('LinkMetrics', () => {
  it('builds and renders the families once per reply, whatever the number of scrapes', () => {
    const rounds = new LatestRounds();
    const m = new LinkMetrics(rounds);
    const first = { text: 'reply 1' };
    const build = vi.fn(() => reply(12));
    const a = m.text(first, build);
    const b = m.text(first, build);
    expect(build).toHaveBeenCalledTimes(1);
    expect(b).toBe(a);
    expect(a.toString()).toContain(
      'wanwatch_link_rtt_seconds{src="a",dst="b",link="a--b",statistic="p95"} 0.012',
    );

    rounds.record(rttResult('a', 'b', 1_700_000_001_000, [10, 11, 12]));
    const next = m.text({ text: 'reply 2' }, () => reply(30));
    expect(next.toString()).toContain(
      'wanwatch_link_rtt_seconds{src="a",dst="b",link="a--b",statistic="p95"} 0.03',
    );
    expect(next.toString()).toContain(
      'wanwatch_link_round_rtt_seconds{src="a",dst="b",link="a--b",statistic="max"} 0.012',
    );
    // b → a has no round yet: no round series for it, rather than a made-up value.
    expect(next.toString()).not.toContain('wanwatch_link_round_rtt_seconds{src="b"');
  });

  it('keeps the newest round of a direction when an older one arrives late (a spool resending)', () => {
    const rounds = new LatestRounds();
    rounds.record(rttResult('a', 'b', 2000, [20, 20, 20]));
    rounds.record(rttResult('a', 'b', 1000, [50, 50, 50]));
    expect(rounds.get('a', 'b')?.max_ms).toBe(20);
  });

  it('escapes label values as the exposition formats require', () => {
    const m = new LinkMetrics(new LatestRounds());
    const r = reply(1);
    const l = r.links[0] as LinksReply['links'][number];
    l.sites = ['a"b', 'c\\d'];
    for (const d of l.directions) [d.src, d.dst] = d.src === 'a' ? ['a"b', 'c\\d'] : ['c\\d', 'a"b'];
    const text = m.text({}, () => r).toString();
    expect(text).toContain('wanwatch_link_state{src="a\\"b",dst="c\\\\d",link="a\\"b--c\\\\d"} 0');
  });
});
