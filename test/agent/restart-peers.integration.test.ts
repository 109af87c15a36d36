// Restarting an agent does not page its peers when they probe with udp (the method that needs no
// privilege) or tcp to its reflector: two real `wanwatch agent` processes against the real collector with the default alert
// settings; b is stopped with SIGTERM and started again 5 times, 1–2 s apart, while a probes b's
// reflector without pause. Each time b's reflector is gone for a second or two and a's probes meet ICMP
// "port unreachable" (udp) or a RST (tcp): refusals, which are not loss (probes/round.ts, docs/measuring.md). Throughout, no
// alert of any kind is pending or firing, and no stored round of a's counts a refused probe as lost.
// The icmp version of this scenario, with throughput tests and SIGKILL, is restart.integration.test.ts.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RttResult } from '../../shared/result.ts';
import type { Heartbeat } from '../../shared/wire.ts';
import { type CliAgent, startCliAgent, twoLoopbackAgentSites } from '../../testbed/agents.ts';
import { eventually, startTestCollector, type TestCollector } from '../../testbed/collector.ts';
import { TOKEN_A, TOKEN_B, TOKEN_ENV } from '../../testbed/topologies.ts';

type Site = 'a' | 'b';
const TOKENS: Record<Site, string> = { a: TOKEN_A, b: TOKEN_B };
const COUNT = 5;
const RESTARTS = 5;

for (const method of ['udp', 'tcp'] as const) {
  describe(`${method} probes`, () => {
    let collector: TestCollector;
    /** a, which probes; b, which is restarted (the process running now). */
    let a: CliAgent;
    let b: CliAgent;
    const activeAlertsSeen: string[] = [];
    let watching: NodeJS.Timeout | undefined;

    /** `wanwatch agent` for the site, with its data dir in the collector's temp dir. */
    const agent = (site: Site): CliAgent =>
      startCliAgent({
        site,
        token: TOKENS[site],
        collector: collector.url,
        dataDir: join(collector.dir, `agent-${site}`),
      });

    const heartbeat = (site: Site): Heartbeat | undefined =>
      collector.store.agents().find((x) => x.site === site)?.heartbeat;

    /** Stored rounds src → dst that started at or after `since`. */
    const rounds = (src: Site, dst: Site, since = 0): RttResult[] =>
      collector.store.rttResults(src, dst, since).filter((r) => r.time_ms >= since);

    /** Waits until the site's new process is up: a heartbeat from it with its reflector up, and a round. */
    async function measuring(site: Site, startedAfter: number): Promise<void> {
      await eventually(
        () => {
          const h = heartbeat(site);
          return h && h.started_at_ms >= startedAfter && h.responder?.reflector.up !== false
            ? true
            : undefined;
        },
        30_000,
        `${site} heartbeating again with its reflector up`,
      );
      const peer: Site = site === 'a' ? 'b' : 'a';
      await eventually(
        () => (rounds(site, peer, startedAfter).length > 0 ? true : undefined),
        30_000,
        `${site} storing rounds again`,
      );
    }

    beforeAll(async () => {
      // Default alert settings (no `alerts:` section): a 5 min window, loss above 1 % pages. a probes b
      // back to back: a round of 5 probes 100 ms apart every second.
      collector = await startTestCollector(
        `${await twoLoopbackAgentSites()}
probes:
  rtt: {method: ${method}, interval: 1s, count: ${COUNT}, spacing: 100ms, timeout: 300ms}
  throughput: {enabled: false}
  heartbeat: {interval: 2s, timeout: 10s}
`,
        { env: TOKEN_ENV },
      );
      watching = setInterval(async () => {
        try {
          const body = (await (await fetch(`${collector.url}/api/v1/alerts`)).json()) as {
            active?: { dedup_key: string; status: string }[];
          };
          for (const a of body.active ?? []) activeAlertsSeen.push(`${a.status} ${a.dedup_key}`);
        } catch {
          // the collector is stopping
        }
      }, 200);
      const t0 = Date.now();
      a = agent('a');
      b = agent('b');
      await Promise.all([measuring('a', t0), measuring('b', t0)]);
    }, 60_000);

    afterAll(async () => {
      clearInterval(watching);
      await Promise.all([a?.kill('SIGTERM'), b?.kill('SIGTERM')]);
      await collector?.dispose();
    });

    describe(`an agent restarted while its peer probes it with ${method}, default alert settings`, () => {
      it(`SIGTERM and start again, ${RESTARTS} times 1–2 s apart: its peer meets refusals, not loss`, async () => {
        const since = Date.now();
        for (let i = 0; i < RESTARTS; i++) {
          expect(await b.kill('SIGTERM')).toBe(0);
          expect(b.stderr).not.toMatch(/\n\s+at /); // no stack trace
          const again = Date.now();
          b = agent('b');
          await measuring('b', again);
          await new Promise((r) => setTimeout(r, 1000 + Math.random() * 1000));
        }

        // a met b's reflector gone: rounds with refused probes left out, or not measured at all.
        const touched = rounds('a', 'b', since).filter((r) => r.rtt === null || r.rtt.sent < COUNT);
        expect(touched.length, 'no round of a met b restarting').toBeGreaterThan(0);
        for (const r of touched.filter((x) => x.rtt === null))
          expect(r.error?.message).toMatch(/^round not measured: .*refused/);
      }, 120_000);

      it('raised no alert (nothing fired, no event), and no stored round counts a refused probe as lost', async () => {
        // A few more rounds after the last restart, and evaluations over them.
        await new Promise((r) => setTimeout(r, 5000));
        // b's refusing reflector may go pending for a moment (measurement_failing/b/refused waits
        // alerts.for, a minute, before it fires); nothing ever fires, and no event is recorded or sent.
        expect(
          activeAlertsSeen.filter((s) => !s.startsWith('pending wanwatch/measurement_failing/b/refused')),
        ).toEqual([]);
        expect(collector.store.recentAlertEvents(100)).toEqual([]);
        const ab = rounds('a', 'b');
        expect(ab.length).toBeGreaterThan(10);
        const lossy = ab.filter((r) => r.rtt !== null && r.rtt.received !== r.rtt.sent);
        expect(lossy.map((r) => `${r.error?.code ?? ''} ${JSON.stringify(r.rtt?.samples_ms)}`)).toEqual([]);
        const links = (await (await fetch(`${collector.url}/api/v1/links`)).json()) as {
          links: { directions: { src: string; dst: string; loss_percent: number | null; state: string }[] }[];
        };
        const direction = links.links
          .flatMap((l) => l.directions)
          .find((d) => d.src === 'a' && d.dst === 'b');
        expect(direction).toMatchObject({ loss_percent: 0, state: 'ok' });
      }, 30_000);
    });
  });
}
