// The shipped Prometheus rules (deploy/prometheus/wanwatch-rules.yml) as Prometheus's own tool reads
// them: `promtool check rules` finds no problem, `promtool test rules` passes its unit tests, and every
// wanwatch metric the rules name is one a real collector's /metrics exposes (a renamed family breaks
// the rules silently otherwise).
import { readFileSync } from 'node:fs';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCollector, type TestCollector } from '../../../testbed/collector.ts';
import { CREDENTIAL_ENV, TOKEN_ENV, threeSites } from '../../../testbed/topologies.ts';

const DIR = new URL('../../../deploy/prometheus/', import.meta.url).pathname;
const RULES = `${DIR}wanwatch-rules.yml`;

let collector: TestCollector;
beforeAll(async () => {
  collector = await startTestCollector(threeSites(), { env: { ...TOKEN_ENV, ...CREDENTIAL_ENV } });
});
afterAll(async () => {
  await collector?.dispose();
});

describe('deploy/prometheus/wanwatch-rules.yml', () => {
  it('passes promtool check rules', async () => {
    const r = await execa('promtool', ['check', 'rules', RULES], { reject: false });
    expect(r.stdout + r.stderr).toContain('SUCCESS');
    expect(r.exitCode).toBe(0);
  });

  it('passes its unit tests (promtool test rules), one per alert', async () => {
    const r = await execa('promtool', ['test', 'rules', 'wanwatch-rules.test.yml'], {
      cwd: DIR,
      reject: false,
    });
    expect(r.stdout + r.stderr).toContain('SUCCESS');
    expect(r.exitCode).toBe(0);
    const alerts = [...readFileSync(RULES, 'utf8').matchAll(/- alert: (\w+)/g)].map((m) => m[1]);
    const tests = readFileSync(`${DIR}wanwatch-rules.test.yml`, 'utf8');
    for (const a of alerts)
      expect(tests, `a unit test of ${a}`).toMatch(new RegExp(`alertname: ${a}\\b[\\s\\S]*?exp_labels`));
  });

  it('names only metrics the collector exposes', async () => {
    const text = await (await fetch(`${collector.url}/metrics`)).text();
    const families = new Set([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => m[1]));
    const named = new Set(
      [...readFileSync(RULES, 'utf8').matchAll(/\b(wanwatch_[a-z_]+)\b/g)].map((m) => m[1] as string),
    );
    expect(named.size).toBeGreaterThan(10);
    for (const name of named) expect(families, `${name} in /metrics`).toContain(name);
  });
});
