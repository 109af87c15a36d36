// The one way wanwatch sends a rendered notification: a POST with a timeout, the answer read into
// what the retry policy and people need. The outbox, its Alertmanager re-sends and
// `wanwatch notify test` all send through here.
import type { OutgoingRequest } from '../notifiers/types.ts';
import { classify, type Verdict } from './retry.ts';

export interface SendAnswer {
  /** null: no HTTP answer (refused connection, timeout, name not found, …). */
  status: number | null;
  retryAfter: string | null;
  verdict: Verdict;
  /** One line for logs and people: "HTTP 404 from http://host:port: not found". */
  problem: string;
}

export async function send(
  request: OutgoingRequest,
  opts: { timeoutMs: number; signal?: AbortSignal },
): Promise<SendAnswer> {
  const { url, headers, body } = request;
  const timeout = AbortSignal.timeout(opts.timeoutMs);
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers,
      body,
      signal: opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout,
    });
    const text = (await res.text().catch(() => '')).slice(0, 300);
    return {
      status: res.status,
      retryAfter: res.headers.get('retry-after'),
      verdict: classify(res.status),
      problem: `HTTP ${res.status} from ${redact(url)}${text ? `: ${text}` : ''}`,
    };
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    const why = timeout.aborted
      ? `no answer within ${opts.timeoutMs} ms`
      : (cause?.code ?? cause?.message ?? (err as Error).message);
    return {
      status: null,
      retryAfter: null,
      verdict: 'retry',
      problem: `POST ${redact(url)} failed: ${why}`,
    };
  }
}

/** Webhook URLs often carry their secret in the path (Slack, Teams): log only the origin. */
export function redact(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return '<bad url>';
  }
}
