import { describe, expect, it } from 'vitest';
import { loadTopology, parseTopology } from '../../shared/config/load.ts';
import { deriveLinks, planJson } from '../../shared/topology/requirements.ts';

const plan = (file: string) => planJson(deriveLinks(loadTopology(`examples/${file}`)));
const link = (sites: [string, string], subclusters: string[], required_mbps: number) => ({
  sites,
  subclusters,
  required_mbps,
  max_rtt_ms: 80,
});

describe('requirement derivation (the worked examples of the Clustering over WAN rules)', () => {
  it('remote failover, one subcluster split across A and B, needs 5 Mbps on A–B', () => {
    expect(plan('remote-failover.yaml')).toEqual({ links: [link(['A', 'B'], ['sc1'], 5)] });
  });

  it('three subclusters each split across A and B need 15 Mbps', () => {
    expect(plan('three-subclusters.yaml')).toEqual({ links: [link(['A', 'B'], ['sc1', 'sc2', 'sc3'], 15)] });
  });

  it('local failover, one subcluster per site in one cluster, needs 10 Mbps', () => {
    expect(plan('local-failover.yaml')).toEqual({ links: [link(['A', 'B'], ['sc1', 'sc2'], 10)] });
  });

  it('intercluster peering counts the subclusters of both clusters: 15 Mbps', () => {
    expect(plan('intercluster.yaml')).toEqual({ links: [link(['A', 'B'], ['sc1', 'sc2', 'sc3'], 15)] });
  });

  it('three sites: A–B carries sc1 only, A–C and B–C carry both', () => {
    expect(plan('three-sites.yaml')).toEqual({
      links: [
        link(['A', 'B'], ['sc1'], 5),
        link(['A', 'C'], ['sc1', 'sc2'], 10),
        link(['B', 'C'], ['sc1', 'sc2'], 10),
      ],
    });
  });

  it('extra_mbps is added to the derived figure: 7 Mbps', () => {
    expect(plan('extra-mbps.yaml')).toEqual({ links: [link(['A', 'B'], ['sc1'], 7)] });
  });
});

describe('derivation text and overrides', () => {
  const base = `
sites: {A: {address: 127.0.0.1}, B: {address: 127.0.0.2}, C: {address: 127.0.0.3}}
clusters:
  east: {subclusters: {sc1: {nodes: {a1: A, b1: B}}}}
  west: {subclusters: {sc2: {nodes: {b2: B}}}}
intercluster: [[east, west]]
`;

  it('says why a link needs its bandwidth', () => {
    const [ab] = deriveLinks(parseTopology(`${base}links: [{between: [B, A], extra_mbps: 2}]`));
    expect(ab?.derivation).toBe('2 × 5 Mbps (sc1, sc2) + 2 Mbps extra = 12 Mbps');
    expect(ab?.crossings.map((c) => [c.subcluster, c.kind])).toEqual([
      ['sc1', 'intracluster'],
      ['sc2', 'intercluster'],
    ]);
    expect(ab?.crossings[1]?.why).toBe('cluster west (sc2 at B) peers with cluster east at A');
  });

  it('required_mbps replaces the derived figure and the text says so', () => {
    const [ab] = deriveLinks(
      parseTopology(`${base}links: [{between: [A, B], required_mbps: 20, max_rtt_ms: 50}]`),
    );
    expect(ab?.required_mbps).toBe(20);
    expect(ab?.derived_mbps).toBe(10);
    expect(ab?.max_rtt_ms).toBe(50);
    expect(ab?.derivation).toBe(
      '20 Mbps set by links[0].required_mbps (derived: 2 × 5 Mbps (sc1, sc2) = 10 Mbps)',
    );
  });

  it('a configured link with no subcluster traffic is listed with its extra bandwidth only', () => {
    const links = deriveLinks(parseTopology(`${base}links: [{between: [A, C], extra_mbps: 3}]`));
    const ac = links.find((l) => l.sites.join() === 'A,C');
    expect(ac?.required_mbps).toBe(3);
    expect(ac?.subclusters).toEqual([]);
    expect(ac?.derivation).toBe('no subcluster traffic + 3 Mbps extra = 3 Mbps');
  });

  it('uses the configured thresholds', () => {
    const [ab] = deriveLinks(
      parseTopology(`thresholds: {mbps_per_subcluster: 2.5, max_rtt_ms: 60}\n${base}`),
    );
    expect(ab?.required_mbps).toBe(5);
    expect(ab?.max_rtt_ms).toBe(60);
  });

  it('a cluster wholly at one site with no peering puts no traffic on the WAN', () => {
    const t = parseTopology(`
sites: {A: {address: 127.0.0.1}, B: {address: 127.0.0.2}}
clusters: {one: {subclusters: {sc1: {nodes: {a1: A, a2: A}}}}}`);
    expect(deriveLinks(t)).toEqual([]);
  });
});
