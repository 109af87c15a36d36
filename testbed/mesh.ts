// A full mesh of `sites` sites for benchmarks: s000, s001, … on loopback addresses (127.1.0.1, 127.1.1.1,
// …), one subcluster each, so every pair of sites is a link; each site's agent token, and a viewer
// credential for reads.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const MESH_VIEWER = 'bench-viewer-token';

export interface Mesh {
  names: string[];
  token: (site: string) => string;
  /** The topology file written. */
  configPath: string;
  /** The tokens' and the viewer's environment variables, for the collector's env. */
  env: Record<string, string>;
}

/** Writes the mesh's topology.yaml into `dir`, with `probes` as its `probes:` mapping. */
export function writeMesh(dir: string, sites: number, probes: string): Mesh {
  const names = Array.from({ length: sites }, (_, i) => `s${String(i).padStart(3, '0')}`);
  const token = (s: string) => `bench-token-${s}`;
  const yaml = [
    'sites:',
    ...names.map(
      (s, i) =>
        `  ${s}: {address: 127.${1 + Math.floor(i / 250)}.${i % 250}.1, token_env: T_${s}, iperf3_port: 5201}`,
    ),
    'clusters:',
    '  one:',
    '    subclusters:',
    ...names.map((s) => `      sc_${s}: {nodes: {n_${s}: ${s}}}`),
    `probes: ${probes}`,
    'collector: {credentials: [{name: bench, role: viewer, token_env: BENCH_VIEWER}]}',
  ].join('\n');
  const configPath = join(dir, 'topology.yaml');
  writeFileSync(configPath, `${yaml}\n`);
  const env: Record<string, string> = { BENCH_VIEWER: MESH_VIEWER };
  for (const s of names) env[`T_${s}`] = token(s);
  return { names, token, configPath, env };
}
