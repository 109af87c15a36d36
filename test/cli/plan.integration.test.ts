import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { WANWATCH, wanwatch } from '../support/cli.ts';

describe('wanwatch plan', () => {
  it('--json prints exactly the shape other tools read, for every worked example', async () => {
    const expected: Record<string, string> = {
      'remote-failover':
        '{"links":[{"sites":["A","B"],"subclusters":["sc1"],"required_mbps":5,"max_rtt_ms":80}]}',
      'three-subclusters':
        '{"links":[{"sites":["A","B"],"subclusters":["sc1","sc2","sc3"],"required_mbps":15,"max_rtt_ms":80}]}',
      'local-failover':
        '{"links":[{"sites":["A","B"],"subclusters":["sc1","sc2"],"required_mbps":10,"max_rtt_ms":80}]}',
      intercluster:
        '{"links":[{"sites":["A","B"],"subclusters":["sc1","sc2","sc3"],"required_mbps":15,"max_rtt_ms":80}]}',
      'three-sites':
        '{"links":[{"sites":["A","B"],"subclusters":["sc1"],"required_mbps":5,"max_rtt_ms":80},' +
        '{"sites":["A","C"],"subclusters":["sc1","sc2"],"required_mbps":10,"max_rtt_ms":80},' +
        '{"sites":["B","C"],"subclusters":["sc1","sc2"],"required_mbps":10,"max_rtt_ms":80}]}',
      'extra-mbps': '{"links":[{"sites":["A","B"],"subclusters":["sc1"],"required_mbps":7,"max_rtt_ms":80}]}',
    };
    for (const [name, json] of Object.entries(expected)) {
      const r = await wanwatch(['plan', '-c', `examples/${name}.yaml`, '--json']);
      expect(r.exitCode, name).toBe(0);
      expect(r.stdout, name).toBe(json);
    }
  });

  it('prints a table with the derivation and the reason each subcluster crosses the link', async () => {
    const r = await wanwatch(['plan', '-c', 'examples/full.yaml']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(
      /dallas – london\s+2\s+12 Mbps\s+80 ms\s+2 × 5 Mbps \(sc1, sc2\) \+ 2 Mbps extra = 12 Mbps/,
    );
    expect(r.stdout).toContain(
      'sc2  intercluster: cluster west (sc2 at london) peers with cluster east at dallas',
    );
  });

  it('exits 2 and names the path and line of each problem', async () => {
    const r = await wanwatch(['plan', '-c', 'test/fixtures/topology/broken.yaml']);
    expect(r.exitCode).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(
      'test/fixtures/topology/broken.yaml:9: clusters.east.subclusters.sc1.nodes.cup1b: unknown site "londn" (did you mean "london"?)',
    );
    expect(r.stderr).toContain('2 problems in the topology file');
  });

  it('exits 2 on a missing file and on a missing --config', async () => {
    const missing = await wanwatch(['plan', '-c', 'nope.yaml']);
    expect(missing.exitCode).toBe(2);
    expect(missing.stderr).toContain(
      'nope.yaml: 1 problem in the topology file:\n  cannot read the topology file: no such file',
    );
    const noConfig = await wanwatch(['plan']);
    expect(noConfig.exitCode).toBe(2);
    expect(noConfig.stderr).toContain("required option '-c, --config <file>' not specified");
  });

  it('--help explains the options, --version prints the version', async () => {
    const help = await wanwatch(['plan', '--help']);
    expect(help.exitCode).toBe(0);
    expect(help.stdout).toContain('-c, --config <file>');
    expect(help.stdout).toContain('--json');
    const version = await wanwatch(['--version']);
    expect(version.stdout).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('ends quietly (exit 0, no stack trace) when its reader stops early, as `wanwatch plan … | head -1`', async () => {
    const child = spawn('node', [WANWATCH, 'plan', '-c', 'examples/full.yaml', '--json'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.stdout.destroy(); // the reader is gone before the first line is written
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(stderr).not.toContain('EPIPE');
    expect(code).toBe(0);
  });
});
