// Topology files for collector tests: two or three sites on loopback with agent tokens, short hysteresis,
// and the API's credentials: an operator (WW_OPERATOR) and a viewer (WW_VIEWER), with reads open to
// anyone (public_read) unless a test asks for them closed: tests of other things read without a
// credential, the access tests (test/collector/api/access.integration.test.ts) do not.
import { randomUUID } from 'node:crypto';
import type { Result } from '../shared/result.ts';
import type { Heartbeat, IngestReply } from '../shared/wire.ts';

export const TOKEN_A = 'site-a-token-for-tests';
export const TOKEN_B = 'site-b-token-for-tests';
export const TOKEN_C = 'site-c-token-for-tests';
export const TOKEN_ENV = { WW_TOKEN_A: TOKEN_A, WW_TOKEN_B: TOKEN_B, WW_TOKEN_C: TOKEN_C };
export const TOKENS: Record<string, string> = { a: TOKEN_A, b: TOKEN_B, c: TOKEN_C };
export const OPERATOR_TOKEN = 'operator-credential-for-tests';
export const VIEWER_TOKEN = 'viewer-credential-for-tests';
/** The credentials' environment variables, for the collector's env beside TOKEN_ENV. */
export const CREDENTIAL_ENV = { WW_OPERATOR: OPERATOR_TOKEN, WW_VIEWER: VIEWER_TOKEN };

/**
 * The `collector:` section of the test topologies: an operator and a viewer, reads open unless closed;
 * `collector` adds lines of its own (indented two spaces), e.g. `  tls: {…}`.
 */
export function testAccess(opts: { publicRead?: boolean; collector?: string } = {}): string {
  return `collector:
${opts.collector ?? ''}  public_read: ${opts.publicRead ?? true}
  credentials:
    - {name: operator, role: operator, token_env: WW_OPERATOR}
    - {name: viewer, role: viewer, token_env: WW_VIEWER}
`;
}

export function twoSites(
  opts: {
    max_rtt_ms?: number;
    notify?: string;
    alerts?: string;
    heartbeat?: string;
    publicRead?: boolean;
    collector?: string;
  } = {},
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
${testAccess(opts)}`;
}

/** POSTs a batch with site a's token. */
export async function push(url: string, body: unknown, token = TOKEN_A): Promise<Response> {
  return fetch(`${url}/api/v1/results`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });
}

/**
 * Three sites on loopback, one cluster: sc1 at a and b, sc2 at c. So a–b needs 5 Mbps, a–c and b–c
 * 10 Mbps. `outputs` is the YAML of the outputs: section's items.
 */
export function threeSites(
  opts: {
    outputs?: string;
    alerts?: string;
    max_rtt_ms?: number;
    publicRead?: boolean;
    collector?: string;
  } = {},
): string {
  return `thresholds: {max_rtt_ms: ${opts.max_rtt_ms ?? 80}, max_loss_percent: 50}
sites:
  a: {address: 127.0.0.1, token_env: WW_TOKEN_A}
  b: {address: 127.0.0.2, token_env: WW_TOKEN_B}
  c: {address: 127.0.0.3, token_env: WW_TOKEN_C}
clusters:
  east:
    subclusters:
      sc1: {nodes: {n1: a, n2: b}}
      sc2: {nodes: {n3: c, n4: c}}
probes:
  heartbeat: {interval: 1h, timeout: 1h}
alerts: ${opts.alerts ?? '{for: 300ms, clear_for: 300ms, window: 5m}'}
outputs:
${opts.outputs ?? '  []'}
${testAccess(opts)}`;
}

/** POSTs results as `site` would (with its token); fails the test unless they are accepted. */
export async function pushAs(url: string, site: string, results: Result[]): Promise<IngestReply> {
  const res = await push(url, { batch_id: randomUUID(), site, results }, TOKENS[site]);
  if (res.status !== 200) throw new Error(`push as ${site} → HTTP ${res.status}: ${await res.text()}`);
  return (await res.json()) as IngestReply;
}

/** POSTs a heartbeat as its site would; fails the test unless it is accepted. */
export async function heartbeatAs(url: string, hb: Heartbeat): Promise<void> {
  const res = await fetch(`${url}/api/v1/heartbeat`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKENS[hb.site]}` },
    body: JSON.stringify(hb),
  });
  if (res.status !== 200)
    throw new Error(`heartbeat of ${hb.site} → HTTP ${res.status}: ${await res.text()}`);
}
