// A result from an agent whose clock is a year ahead must not silence link_down: the real collector,
// results pushed over HTTP as an agent pushes them (site token, one batch each), a webhook receiver.
// The future round is stored, but the rules judge only what is at or before the evaluation's time.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WebhookPayloadV2 } from '../../collector/notifiers/webhook.ts';
import { linksReplySchema } from '../../shared/wire.ts';
import { eventually, startTestCollector, type TestCollector } from '../../testbed/collector.ts';
import { rttResult } from '../../testbed/results.ts';
import { pushAs, TOKEN_ENV, twoSites } from '../../testbed/topologies.ts';
import { type Receiver, startReceiver } from '../support/receivers.ts';

const YEAR = 365 * 86_400_000;

let c: TestCollector;
let hook: Receiver;
beforeAll(async () => {
  hook = await startReceiver();
  c = await startTestCollector(
    twoSites({
      alerts: '{for: 300ms, clear_for: 300ms, window: 1m}',
      notify: `  - {type: webhook, url: "${hook.url}/hook"}`,
    }),
    { env: TOKEN_ENV },
  );
});
afterAll(async () => {
  await c?.dispose();
  await hook?.close();
});

const delivered = () => hook.accepted().map((r) => r.body as WebhookPayloadV2);

describe('a round dated a year ahead', () => {
  it('followed by rounds that lose every probe still raises link_down', async () => {
    await pushAs(c.url, 'a', [rttResult('a', 'b', Date.now() + YEAR, [1.2, 1.1, 1.3])]);
    // Rounds that lose every probe, one every 200 ms, as an agent would send them over a dead link.
    const lost = setInterval(() => {
      void pushAs(c.url, 'a', [rttResult('a', 'b', Date.now(), [null, null, null])]).catch(() => {});
    }, 200);
    try {
      const firing = await eventually(
        () => delivered().find((b) => b.rule === 'link_down' && b.status === 'firing'),
        15_000,
        'link_down firing at the webhook',
      );
      expect(firing).toMatchObject({
        dedup_key: 'wanwatch/link_down/a--b',
        severity: 'critical',
        subject: { kind: 'link', sites: ['a', 'b'], worst: { src: 'a', dst: 'b' } },
      });
    } finally {
      clearInterval(lost);
    }
    // The future round is stored (another engineer's ingest check may refuse it later), never judged.
    expect(c.store.rttResults('a', 'b', Date.now() + YEAR - 60_000)).toHaveLength(1);
    const links = linksReplySchema.parse(await (await fetch(`${c.url}/api/v1/links`)).json());
    const ab = links.links[0]?.directions.find((d) => d.src === 'a' && d.dst === 'b');
    expect(ab).toMatchObject({ state: 'firing', loss_percent: 100, rtt_ms: null });
    expect(ab?.last_result_ms).toBeLessThanOrEqual(links.time_ms);
  });
});
