// A real collector for two real agents on loopback (testbed/agents.ts loopbackAgentSites: a at
// 127.0.0.1, b at 127.0.0.2), with no throughput tests and a heartbeat every 500 ms, plans refreshed
// every 500 ms, and reads only with the one viewer credential: for tests of one agent against it
// (another user, another version).
import { loopbackAgentSites } from '../../testbed/agents.ts';
import { startTestCollector, type TestCollector } from '../../testbed/collector.ts';

/**
 * `rtt` is the `probes.rtt` mapping (e.g. `{method: udp, interval: 300ms, …}`); `tokens` are site a's and
 * b's agent tokens and the viewer's credential.
 */
export async function startTwoAgentCollector(
  rtt: string,
  tokens: { a: string; b: string; viewer: string },
): Promise<TestCollector> {
  return startTestCollector(
    `${await loopbackAgentSites()}probes:
  rtt: ${rtt}
  throughput: {enabled: false}
  heartbeat: {interval: 500ms, timeout: 5s}
collector: {credentials: [{name: test, role: viewer, token_env: WW_VIEWER}]}
`,
    { env: { WW_TOKEN_A: tokens.a, WW_TOKEN_B: tokens.b, WW_VIEWER: tokens.viewer }, planRefreshMs: 500 },
  );
}
