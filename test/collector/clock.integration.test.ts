// An agent whose clock is off, against the real collector, with real agents (real probes, UDP; the
// agent's clock is the one its runtime reads, which dates its heartbeats): a minute off, it is told by
// the heartbeat reply and logs an error at every heartbeat while what it sends is still taken; ten
// minutes off (past collector.max_clock_skew), its heartbeats are refused with a message saying its
// clock is off, which it logs, and none is stored. An agent on time logs nothing of the kind. Results
// dated outside the skew are refused too: test/collector/api/validation.integration.test.ts.
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../shared/log.ts';
import { startFleet, twoLoopbackAgentSites } from '../../testbed/agents.ts';
import { eventually, startTestCollector, type TestCollector } from '../../testbed/collector.ts';
import { TOKEN_A, TOKEN_B, TOKEN_ENV } from '../../testbed/topologies.ts';

const PROBES = `probes:
  rtt: {method: udp, interval: 1s, count: 3, spacing: 50ms, timeout: 500ms}
  throughput: {enabled: false}
  heartbeat: {interval: 1s, timeout: 5s}
`;

let c: TestCollector | undefined;
const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const stop of stops.splice(0)) await stop();
  await c?.dispose();
  c = undefined;
});

/** Starts the agent of `site` with its clock `offsetMs` off; its log lines. */
async function agentWithClock(
  collector: TestCollector,
  site: 'a' | 'b',
  offsetMs: number,
): Promise<string[]> {
  const lines: string[] = [];
  const fleet = await startFleet([{ site, token: site === 'a' ? TOKEN_A : TOKEN_B }], {
    collector: collector.url,
    dir: collector.dir,
    log: createLogger({ site }, (l) => lines.push(l)),
    now: () => Date.now() + offsetMs,
  });
  stops.push(() => fleet.stop());
  return lines;
}

const errors = (lines: string[]) => lines.filter((l) => l.includes('"level":"error"'));

describe('an agent whose clock is off', () => {
  it('a minute off: logs an error at every heartbeat, and what it sends is still taken', async () => {
    c = await startTestCollector(`${await twoLoopbackAgentSites()}${PROBES}`, { env: TOKEN_ENV });
    const collector = c;
    const ahead = await agentWithClock(collector, 'a', 60_000);
    const onTime = await agentWithClock(collector, 'b', 0);
    const clockErrors = () => errors(ahead).filter((l) => l.includes('CLOCK OFF'));
    await eventually(() => (clockErrors().length >= 2 ? true : undefined), 10_000, 'two CLOCK OFF errors');
    expect(clockErrors()[0]).toMatch(
      /CLOCK OFF: this host's clock is (59|60|61)\.\d s ahead of the collector's\. .*refuses results and heartbeats dated more than 300 s from its clock \(collector\.max_clock_skew\)\. Set up time sync/,
    );
    await eventually(
      () => (collector.store.countResults() > 0 ? true : undefined),
      10_000,
      "a's results stored",
    );
    expect(collector.store.agents().find((x) => x.site === 'a')?.heartbeat.time_ms).toBeGreaterThan(
      Date.now() + 50_000,
    );
    expect(errors(onTime).filter((l) => l.includes('CLOCK'))).toEqual([]);
  }, 30_000);

  it('ten minutes off: its heartbeats are refused, saying its clock is off, and none is stored', async () => {
    c = await startTestCollector(`${await twoLoopbackAgentSites()}${PROBES}`, { env: TOKEN_ENV });
    const collector = c;
    const ahead = await agentWithClock(collector, 'a', 10 * 60_000);
    const refused = () => errors(ahead).filter((l) => l.includes('collector refused the heartbeat'));
    await eventually(
      () => (refused().length >= 2 ? true : undefined),
      10_000,
      'refused heartbeats in the agent log',
    );
    expect(refused()[0]).toMatch(
      /collector refused the heartbeat of site \\"a\\" \(400\): the heartbeat is dated outside the collector's clock skew: the agent's clock is off: set up time sync .*time_ms: the agent's clock is (9m59s|10m) ahead of the collector's \(at most 5m either way, collector\.max_clock_skew\)/,
    );
    expect(collector.store.agents().find((x) => x.site === 'a')).toBeUndefined();
  }, 30_000);
});
