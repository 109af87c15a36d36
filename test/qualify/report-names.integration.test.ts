// `wanwatch qualify --to HOST --site NAME --peer-site NAME` names the two ends by their sites in every
// report (the terminal, JSON, Markdown, HTML) instead of this host's name and the far end's address,
// while it still measures towards HOST; and every report says how the link was measured.
import { mkdtempSync, readFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { QualifyReport } from '../../qualify/report/model.ts';
import { type Responder, startResponder } from '../../responder/index.ts';
import { wanwatch } from '../support/cli.ts';

let responder: Responder;
const dir = mkdtempSync(join(tmpdir(), 'wanwatch-qualify-names-'));

beforeAll(async () => {
  responder = await startResponder({ address: '127.0.0.1', reflector_port: 0, iperf3_port: 0 });
});
afterAll(async () => {
  await responder?.close();
});

describe('wanwatch qualify --site and --peer-site', () => {
  it('names the ends in every report and measures towards --to', async () => {
    const html = join(dir, 'r.html');
    const markdown = join(dir, 'r.md');
    const r = await wanwatch(
      [
        'qualify',
        '--to',
        '127.0.0.1',
        '--site',
        'dallas',
        '--peer-site',
        'london',
        '--subclusters',
        '1',
        '--duration',
        '3s',
        '--no-throughput',
        '--port',
        String(responder.reflector.port),
        '--json',
        '--html',
        html,
        '--markdown',
        markdown,
      ],
      { timeout: 60_000 },
    );
    expect(r.exitCode, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as QualifyReport;
    const [link] = report.links;
    expect([link?.link.from, link?.link.to]).toEqual(['dallas', 'london']);
    expect(link?.rtt_idle.received).toBeGreaterThan(0); // measured towards 127.0.0.1
    expect(link?.measured_with).toMatchObject({
      rtt_method: 'udp',
      probes_per_round: 10,
      throughput_tests: 0,
    });
    for (const text of [readFileSync(html, 'utf8'), readFileSync(markdown, 'utf8'), JSON.stringify(report)]) {
      expect(text).toContain('dallas');
      expect(text).toContain('london');
      expect(text).not.toContain(hostname());
      expect(text).not.toContain('127.0.0.1');
    }
    expect(readFileSync(markdown, 'utf8')).toContain('Measured with: UDP RTT rounds of 10 probes');
    expect(readFileSync(html, 'utf8')).toContain('How it was measured');
  });
});
