import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LabSpecError, loadLabFile, parseLabSpec } from '../../lab/spec.ts';
import { loadTopology } from '../../shared/config/load.ts';
import { deriveLinks } from '../../shared/topology/requirements.ts';

function fileWith(name: string, text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'wanwatch-lab-spec-'));
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

describe('the lab file', () => {
  it('reads the three-site example: delays one way, rates, unlimited where no rate is given', () => {
    const spec = loadLabFile('lab/examples/three-sites.yaml');
    expect(spec.name).toBe('three-sites');
    expect(spec.sites).toEqual(['A', 'B', 'C']);
    const [ab, ac, bc] = spec.links;
    expect(ab?.a_to_b).toEqual({ delay_ms: 10, jitter_ms: 0, loss_percent: 0, rate_mbps: 20, queue_ms: 100 });
    expect(ab?.b_to_a).toEqual(ab?.a_to_b);
    expect(ac?.a_to_b.delay_ms).toBe(45);
    expect(ac?.a_to_b.rate_mbps).toBeNull();
    expect(bc?.b_to_a.rate_mbps).toBe(8);
  });

  it('applies a per-direction override over the values given for both directions', () => {
    const spec = parseLabSpec(
      {
        name: 'x',
        sites: ['A', 'B'],
        links: [
          { between: ['A', 'B'], delay_ms: 10, loss_percent: 1, b_to_a: { delay_ms: 30, rate_mbps: 5 } },
        ],
      },
      {},
    );
    expect(spec.links[0]?.a_to_b).toMatchObject({ delay_ms: 10, loss_percent: 1, rate_mbps: null });
    expect(spec.links[0]?.b_to_a).toMatchObject({ delay_ms: 30, loss_percent: 1, rate_mbps: 5 });
  });

  it('names the path and line of every problem', () => {
    const file = fileWith(
      'broken.yaml',
      [
        'sites: [A, B, A]',
        'links:',
        '  - between: [A, D]',
        '    delay_ms: -1',
        '  - between: [A, B]',
        '    a_to_b: {loss_percent: 120, delay: 3}',
        '',
      ].join('\n'),
    );
    let err: unknown;
    try {
      loadLabFile(file);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(LabSpecError);
    const message = (err as Error).message;
    expect(message).toContain(`${file}:4: links[0].delay_ms: must be 0 or more (milliseconds, one way)`);
    expect(message).toContain(`${file}:6: links[1].a_to_b.loss_percent: must be at most 100 (percent)`);
    expect(message).toContain(`${file}:6: links[1].a_to_b.delay: unknown key`);
  });

  it('rejects unknown sites, repeated sites and links given twice, naming each', () => {
    expect(() =>
      parseLabSpec({
        name: 'x',
        sites: ['A', 'B', 'A'],
        links: [{ between: ['A', 'D'] }, { between: ['A', 'B'] }, { between: ['B', 'A'] }],
      }),
    ).toThrow(
      /sites\[2\]: site "A" is listed twice[\s\S]*links\[0\]\.between\[1\]: unknown site "D"[\s\S]*links\[2\]: link B–A is already described at links\[1\]/,
    );
  });
});

describe('the wanwatch topology for the three-site lab', () => {
  it("names the lab's sites at their slot-0 addresses, with the demonstration tokens, and asks 5, 5 and 10 Mbps", () => {
    const lab = loadLabFile('lab/examples/three-sites.yaml');
    const topology = loadTopology('lab/examples/three-sites.topology.yaml');
    expect([...topology.sites.keys()]).toEqual(lab.sites);
    lab.sites.forEach((site, i) => {
      const s = topology.sites.get(site);
      expect(s?.address).toBe(`198.18.0.${i + 1}`);
      expect(s?.token_sha256).toBe(createHash('sha256').update(`lab-token-${site}`).digest('hex'));
    });
    expect(deriveLinks(topology).map((l) => [l.sites.join('–'), l.required_mbps])).toEqual([
      ['A–B', 5],
      ['A–C', 5],
      ['B–C', 10],
    ]);
  });
});
