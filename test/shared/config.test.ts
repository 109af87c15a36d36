import { describe, expect, it } from 'vitest';
import { parseDuration } from '../../shared/config/duration.ts';
import { ConfigError, loadTopology, parseTopology } from '../../shared/config/load.ts';

const SITES = `sites:
  dallas: {address: 10.1.0.10}
  london: {address: 10.2.0.10}
`;

/** The problems a topology text has, as "path: message" lines (line numbers checked separately). */
function problems(text: string): string[] {
  try {
    parseTopology(text, 't.yaml');
  } catch (err) {
    if (err instanceof ConfigError) return err.issues.map((i) => `${i.path}: ${i.message}`);
    throw err;
  }
  return [];
}

function firstIssue(text: string) {
  try {
    parseTopology(text, 't.yaml');
  } catch (err) {
    if (err instanceof ConfigError) return err.issues[0];
  }
  throw new Error('expected a ConfigError');
}

describe('topology validation names the path of every problem', () => {
  it('accepts a minimal file and fills in the defaults', () => {
    const t = parseTopology(SITES);
    expect(t.thresholds).toEqual({
      max_rtt_ms: 80,
      mbps_per_subcluster: 5,
      max_loss_percent: 1,
      rtt_statistic: 'p95',
    });
    expect(t.probes.heartbeat).toEqual({ interval: 60_000, timeout: 30_000 });
    expect(t.sites.get('london')).toMatchObject({
      address: '10.2.0.10',
      reflector_port: 4789,
      iperf3_port: 5201,
    });
  });

  it('unknown site, with a suggestion', () => {
    expect(
      problems(`${SITES}clusters: {east: {subclusters: {sc1: {nodes: {cup1a: dallas, cup1b: londn}}}}}`),
    ).toEqual(['clusters.east.subclusters.sc1.nodes.cup1b: unknown site "londn" (did you mean "london"?)']);
  });

  it('a node placed at two sites, in two subclusters', () => {
    expect(
      problems(`${SITES}clusters:
  east:
    subclusters:
      sc1: {nodes: {cup1a: dallas}}
      sc2: {nodes: {cup1a: london}}`),
    ).toEqual([
      'clusters.east.subclusters.sc2.nodes.cup1a: node "cup1a" is at two sites: "london" here and "dallas" at clusters.east.subclusters.sc1.nodes.cup1a; a node is at exactly one site',
    ]);
  });

  it('a node placed at two sites within one map, with both lines', () => {
    const issue = firstIssue(`${SITES}clusters:
  east:
    subclusters:
      sc1:
        nodes:
          cup1a: dallas
          cup1a: london`);
    expect(issue).toEqual({
      path: 'clusters.east.subclusters.sc1.nodes.cup1a',
      message: 'node "cup1a" is placed twice (lines 9 and 10); a node is at exactly one site',
      line: 10,
    });
  });

  it('duplicate subcluster name across clusters', () => {
    expect(
      problems(`${SITES}clusters:
  east: {subclusters: {sc1: {nodes: {a: dallas}}}}
  west: {subclusters: {sc1: {nodes: {b: london}}}}`),
    ).toEqual([
      'clusters.west.subclusters.sc1: duplicate subcluster name "sc1": cluster "east" already has one; subcluster names are unique across the deployment',
    ]);
  });

  it('negative or zero thresholds', () => {
    expect(
      problems(`thresholds: {max_rtt_ms: 0, mbps_per_subcluster: -5, max_loss_percent: -1}\n${SITES}`),
    ).toEqual([
      'thresholds.max_rtt_ms: must be greater than 0 (milliseconds of round-trip time)',
      'thresholds.mbps_per_subcluster: must be greater than 0 (Mbps per subcluster)',
      'thresholds.max_loss_percent: must be 0 or more (percent)',
    ]);
  });

  it('empty or missing sites', () => {
    expect(problems('sites: {}')).toEqual(['sites: at least one site is needed']);
    expect(problems('thresholds: {max_rtt_ms: 80}')).toEqual([
      'sites: missing; expected a map of site name → {address: …}',
    ]);
  });

  it('intercluster peering with an unknown cluster', () => {
    expect(
      problems(`${SITES}clusters:
  east: {subclusters: {sc1: {nodes: {a: dallas}}}}
  west: {subclusters: {sc2: {nodes: {b: london}}}}
intercluster: [[east, wset]]`),
    ).toEqual(['intercluster[0][1]: unknown cluster "wset" (did you mean "west"?)']);
  });

  it('YAML syntax error with its line number', () => {
    const issue = firstIssue('sites:\n  dallas: {address: 10.1.0.10\n  london: {address: 10.2.0.10}\n');
    expect(issue?.message).toMatch(/^YAML syntax error at line \d+, column \d+: /);
    expect(issue?.line).toBeGreaterThanOrEqual(2);
  });

  it('missing file', () => {
    expect(() => loadTopology('/nonexistent/wanwatch.yaml')).toThrow(
      '/nonexistent/wanwatch.yaml: 1 problem in the topology file:\n  cannot read the topology file: no such file',
    );
  });

  it('reports every problem at once, sorted by line, each with its line', () => {
    let err: ConfigError | undefined;
    try {
      parseTopology(
        `thresholds: {max_rtt_ms: -1}
sites:
  dallas: {adress: 10.1.0.10}
clusters: {east: {subclusters: {sc1: {nodes: {a: paris}}}}}
links: [{between: [dallas, dallas], extra_mbps: 2, required_mbps: 9}]
probes: {rtt: {interval: ten}}
notify: [{type: slack, url: not-a-url}, {type: email}]
sitse: {}`,
        'x.yaml',
      );
    } catch (e) {
      err = e as ConfigError;
    }
    expect(err?.issues.map((i) => [i.line, i.path])).toEqual([
      [1, 'thresholds.max_rtt_ms'],
      [3, 'sites.dallas.address'],
      [3, 'sites.dallas.adress'],
      [4, 'clusters.east.subclusters.sc1.nodes.a'],
      [5, 'links[0].between'],
      [5, 'links[0]'],
      [6, 'probes.rtt.interval'],
      [7, 'notify[0].url'],
      [7, 'notify[1].type'],
      [8, 'sitse'],
    ]);
    expect(err?.message).toContain('x.yaml:8: sitse: unknown section (did you mean "sites"?)');
    expect(err?.message).toContain('x.yaml:6: probes.rtt.interval: "ten" is not a duration');
  });

  it('links: unknown sites, a link to itself, both extra and required, duplicates', () => {
    expect(
      problems(`${SITES}links:
  - {between: [dallas, lodnon]}
  - {between: [london, dallas], extra_mbps: 1}
  - {between: [dallas, london]}`),
    ).toEqual([
      'links[0].between[1]: unknown site "lodnon" (did you mean "london"?)',
      'links[2]: link dallas–london is already configured at links[1]',
    ]);
  });
});

describe('site addresses and ports', () => {
  it('refuses dotted digits that are not an IPv4 address, naming the path', () => {
    expect(
      problems(`sites:
  dallas: {address: 127.0.0.300}
  london: {address: 10.2.0}
  paris: {address: 10.3.0.010}
  tokyo: {address: 10.4.0.10.}`),
    ).toEqual([
      'sites.dallas.address: "127.0.0.300" is not a valid IPv4 address: 300 is over 255; write four numbers from 0 to 255 separated by dots, e.g. 10.1.0.10',
      'sites.london.address: "10.2.0" is not a valid IPv4 address: it has 3 numbers where IPv4 has 4; write four numbers from 0 to 255 separated by dots, e.g. 10.1.0.10',
      'sites.paris.address: "10.3.0.010" is not a valid IPv4 address: a leading zero (010) is read as octal by some resolvers; write four numbers from 0 to 255 separated by dots, e.g. 10.1.0.10',
      'sites.tokyo.address: "10.4.0.10." is not a valid IPv4 address: a dot stands at the start, at the end or next to another; write four numbers from 0 to 255 separated by dots, e.g. 10.1.0.10',
    ]);
    expect(firstIssue('sites:\n  dallas: {address: 127.0.0.300}\n')?.line).toBe(2);
  });

  it('still takes IPv4, IPv6 and host names, digits in labels included', () => {
    const t = parseTopology(`sites:
  a: {address: 0.0.0.0}
  b: {address: 255.255.255.255}
  c: {address: "::1"}
  d: {address: 1st.example.net}
  e: {address: host-2}`);
    expect([...t.sites.values()].map((s) => s.address)).toEqual([
      '0.0.0.0',
      '255.255.255.255',
      '::1',
      '1st.example.net',
      'host-2',
    ]);
    expect(problems('sites: {a: {address: "exa mple"}}')).toEqual([
      'sites.a.address: "exa mple" is not an IP address or host name',
    ]);
  });

  it('refuses two sites on one address and port, naming both sites', () => {
    expect(
      problems(`sites:
  dallas: {address: 127.0.0.1}
  london: {address: 127.0.0.1}
  paris: {address: 127.0.0.1, reflector_port: 6000, iperf3_port: 6001}
  tokyo: {address: 127.0.0.1, reflector_port: 6001, iperf3_port: 6002}`),
    ).toEqual([
      'sites.london.reflector_port: site "london" and site "dallas" both use 127.0.0.1 port 4789 (dallas\'s reflector_port); their responders cannot both listen there: give one of them another port or address',
      'sites.london.iperf3_port: site "london" and site "dallas" both use 127.0.0.1 port 5201 (dallas\'s iperf3_port); their responders cannot both listen there: give one of them another port or address',
      'sites.tokyo.reflector_port: site "tokyo" and site "paris" both use 127.0.0.1 port 6001 (paris\'s iperf3_port); their responders cannot both listen there: give one of them another port or address',
    ]);
    expect(problems('sites: {a: {address: 10.0.0.1, reflector_port: 5000, iperf3_port: 5000}}')).toEqual([
      'sites.a.iperf3_port: site "a" has reflector_port and iperf3_port both 5000; the reflector also listens on TCP there, so give iperf3 another port',
    ]);
    // One address with other ports, or one port on other addresses, is fine.
    expect(
      problems(`sites:
  a: {address: 127.0.0.1}
  b: {address: 127.0.0.1, reflector_port: 4790, iperf3_port: 5202}
  c: {address: 127.0.0.2}`),
    ).toEqual([]);
  });
});

describe('durations', () => {
  it('parse the units operators write', () => {
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('10s')).toBe(10_000);
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('1.5s')).toBe(1500);
    expect(parseDuration('10')).toBeUndefined();
    expect(parseDuration('10 s')).toBeUndefined();
    expect(parseDuration('')).toBeUndefined();
  });
});
