// `wanwatch status` against something that answers, but not with the links reply of shared/wire.ts:
// a tiny HTTP server on loopback stands in for a collector of another version (or another program).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { wanwatch } from '../support/cli.ts';

let server: Server | undefined;

/** Answers every request with 200 and `body`; resolves to its base URL. */
async function answering(body: string, contentType = 'application/json'): Promise<string> {
  const s = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': contentType });
    res.end(body);
  });
  server = s;
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
}

afterEach(async () => {
  const s = server;
  server = undefined;
  if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
});

describe('wanwatch status with a malformed reply', () => {
  it('exits 2 and names what in the reply is wrong', async () => {
    const url = await answering(
      JSON.stringify({ time_ms: 1, window_ms: 300_000, rtt_statistic: 'p95', links: 'none' }),
    );
    const s = await wanwatch(['status', '--collector', url]);
    expect(s.exitCode).toBe(2);
    expect(s.stdout).toBe('');
    expect(s.stderr).toMatch(
      new RegExp(
        `^wanwatch: ${url}/api/v1/links answered, but not with the links reply this wanwatch reads \\(links: .*expected array.*\\); is a wanwatch collector of the same version running there\\?$`,
        'm',
      ),
    );
  });

  it('finds its collector through WANWATCH_COLLECTOR', async () => {
    const url = await answering('{}');
    const s = await wanwatch(['status'], { env: { WANWATCH_COLLECTOR: url } });
    expect(s.exitCode).toBe(2);
    expect(s.stderr).toContain(`${url}/api/v1/links answered, but not with the links reply`);
  });

  it('points into the reply: the link and direction whose field is wrong', async () => {
    const alerts = {
      rtt_high: 'ok',
      loss_high: 'ok',
      goodput_low: 'ok',
      link_down: 'ok',
      throughput_failing: 'ok',
    };
    const direction = {
      src: 'a',
      dst: 'b',
      state: 'burning',
      rtt_ms: 10,
      rtt_statistic: 'p95',
      max_rtt_ms: 80,
      loss_percent: 0,
      max_loss_percent: 1,
      goodput_bps: null,
      required_bps: 1e8,
      rounds_in_window: 3,
      last_result_ms: 1,
      last_throughput_ms: null,
      not_measured: null,
      goodput_stale: false,
      throughput_failure: null,
      alerts,
    };
    const link = {
      sites: ['a', 'b'],
      subclusters: ['sc1'],
      required_mbps: 100,
      max_rtt_ms: 80,
      max_loss_percent: 1,
      derivation: '1 subcluster × 100 Mbps',
      state: 'ok',
      alerts,
      directions: [direction],
    };
    const url = await answering(
      JSON.stringify({ time_ms: 1, window_ms: 300_000, rtt_statistic: 'p95', links: [link] }),
    );
    const s = await wanwatch(['status', '--collector', url]);
    expect(s.exitCode).toBe(2);
    // The only problem: everything else is a reply this wanwatch reads.
    expect(s.stderr).toMatch(/\(links\[0\]\.directions\[0\]\.state: [^;]*\); is a wanwatch collector/);
  });

  it('exits 2 and says so when the answer is not JSON at all', async () => {
    const url = await answering('<html>a login page</html>', 'text/html');
    const s = await wanwatch(['status', '--collector', url]);
    expect(s.exitCode).toBe(2);
    expect(s.stderr).toContain(
      `${url}/api/v1/links answered, but not with JSON (it began "<html>a login page`,
    );
  });
});
