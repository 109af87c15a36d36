// Topology files for collector tests: two sites on loopback with agent tokens, short hysteresis.
export const TOKEN_A = 'site-a-token-for-tests';
export const TOKEN_B = 'site-b-token-for-tests';
export const TOKEN_ENV = { WW_TOKEN_A: TOKEN_A, WW_TOKEN_B: TOKEN_B };

export function twoSites(
  opts: { max_rtt_ms?: number; notify?: string; alerts?: string; heartbeat?: string } = {},
): string {
  return `thresholds: {max_rtt_ms: ${opts.max_rtt_ms ?? 80}, max_loss_percent: 50}
sites:
  a: {address: 127.0.0.1, token_env: WW_TOKEN_A}
  b: {address: 127.0.0.2, token_env: WW_TOKEN_B}
clusters:
  east:
    subclusters:
      sc1: {nodes: {n1: a, n2: b}}
probes:
  heartbeat: ${opts.heartbeat ?? '{interval: 1h, timeout: 1h}'}
alerts: ${opts.alerts ?? '{for: 300ms, clear_for: 300ms, window: 1m}'}
notify:
${opts.notify ?? '  []'}
`;
}

/** POSTs a batch with site a's token. */
export async function push(url: string, body: unknown, token = TOKEN_A): Promise<Response> {
  return fetch(`${url}/api/v1/results`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });
}
