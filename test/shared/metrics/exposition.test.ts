// Content negotiation and the joining of registries' texts for /metrics (collector and agent).
import { Counter, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { bare, joinBodies, Renderer, wantsOpenMetrics } from '../../../shared/metrics/exposition.ts';

describe('wantsOpenMetrics', () => {
  it('is true when the Accept header lists OpenMetrics with a quality above 0', () => {
    expect(
      wantsOpenMetrics(
        'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1',
      ),
    ).toBe(true);
    expect(wantsOpenMetrics('text/plain;version=0.0.4')).toBe(false);
    expect(wantsOpenMetrics('application/openmetrics-text; q=0, text/plain')).toBe(false);
    expect(wantsOpenMetrics(undefined)).toBe(false);
  });
});

describe('Renderer', () => {
  it('renders OpenMetrics and then the text format with the counters still named _total', async () => {
    const registry = new Registry();
    new Counter({ name: 'x_events_total', help: 'events', registers: [registry] }).inc(2);
    const r = new Renderer();
    const [om, text] = await Promise.all([r.render(registry, true), r.render(registry, false)]);
    expect(om).toContain('# TYPE x_events counter\nx_events_total 2');
    expect(om.endsWith('# EOF\n')).toBe(true);
    expect(text).toContain('# TYPE x_events_total counter\nx_events_total 2');
  });
});

describe('joinBodies', () => {
  it('ends an OpenMetrics exposition with one # EOF, and keeps families apart in the text format', () => {
    const om = joinBodies([bare('a 1\n# EOF\n', true), Buffer.from('b 2')], true).toString();
    expect(om).toBe('a 1\nb 2\n# EOF\n');
    const text = joinBodies([bare('a 1\n', false), Buffer.from('b 2')], false).toString();
    expect(text).toBe('a 1\n\nb 2\n');
  });
});
