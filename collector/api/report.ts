// A finished mesh qualification's report as a page of its own, GET /api/v1/qualifications/ID/report.html:
// the self-contained HTML `wanwatch qualify` writes, under a policy of its own (its inline styles and
// nothing else: no script, no request anywhere, framed only by the collector's own pages), so that the
// console shows it in a sandboxed frame without loosening the console's policy.
//
// A frame cannot send the console's bearer credential, so the list of qualifications, itself a read,
// gives each finished one a URL with a key: an HMAC of the id and an expiry (one to two hours ahead,
// the same URL for an hour, so a polling page does not reload the frame) under a secret drawn when the
// collector starts. The report is read with that key or with a reader's credential, as every read.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { API_PREFIX } from '../../shared/wire.ts';

export const REPORT_CSP = [
  "default-src 'none'",
  "style-src 'unsafe-inline'",
  'img-src data:',
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'self'",
].join('; ');

const HOUR = 3_600_000;

export class ReportKeys {
  private readonly secret = randomBytes(32);

  private sign(id: string, exp: number): string {
    return createHmac('sha256', this.secret).update(`${id}\n${exp}`).digest('base64url');
  }

  /** The report's URL (path and query) for a reader who may read `id`. */
  url(id: string, now: number): string {
    const exp = (Math.floor(now / HOUR) + 2) * HOUR;
    const q = new URLSearchParams({ exp: String(exp), key: this.sign(id, exp) });
    return `${API_PREFIX}/qualifications/${encodeURIComponent(id)}/report.html?${q}`;
  }

  /** Whether the query carries an unexpired key for `id`. */
  valid(id: string, query: URLSearchParams, now: number): boolean {
    const exp = Number(query.get('exp'));
    const key = query.get('key');
    if (!Number.isSafeInteger(exp) || exp < now || exp > now + 3 * HOUR || key === null) return false;
    const want = Buffer.from(this.sign(id, exp));
    const got = Buffer.from(key);
    return got.length === want.length && timingSafeEqual(got, want);
  }
}

export function sendReport(res: ServerResponse, html: string): void {
  const body = Buffer.from(html);
  res.writeHead(200, {
    'content-type': 'text/html; charset=utf-8',
    'content-length': body.length,
    'content-security-policy': REPORT_CSP,
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'SAMEORIGIN',
    'referrer-policy': 'no-referrer',
    'cross-origin-resource-policy': 'same-origin',
    'cache-control': 'no-store',
  });
  res.end(body);
}
