// Fake receivers for the services that cannot run here (Slack, Teams, PagerDuty) and a plain webhook
// receiver. Each validates the body against the shape the provider documents and answers as the
// provider does: 2xx when valid, 400 with the problems when not. They listen on 127.0.0.1:0.
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';

export interface Received {
  headers: IncomingHttpHeaders;
  raw: string;
  body: unknown;
  status: number;
  problems: string[];
}

export interface Receiver {
  url: string;
  received: Received[];
  /** Accepted (2xx) requests only. */
  accepted(): Received[];
  /** Chooses the status for the next request; default: 200 (or 202 / 400 from the validator). */
  answer: (r: Omit<Received, 'status'>) => { status: number; headers?: Record<string, string> } | undefined;
  close(): Promise<void>;
}

export async function startReceiver(
  validate: (body: unknown) => string[] = () => [],
  okStatus = 200,
): Promise<Receiver> {
  const received: Received[] = [];
  const receiver: Receiver = {
    url: '',
    received,
    accepted: () => received.filter((r) => r.status >= 200 && r.status < 300),
    answer: () => undefined,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      let body: unknown = null;
      let problems: string[];
      try {
        body = JSON.parse(raw);
        problems = validate(body);
      } catch {
        problems = ['body is not JSON'];
      }
      const forced = receiver.answer({ headers: req.headers, raw, body, problems });
      const status = forced?.status ?? (problems.length > 0 ? 400 : okStatus);
      received.push({ headers: req.headers, raw, body, status, problems });
      res.writeHead(status, { 'content-type': 'application/json', ...forced?.headers });
      res.end(JSON.stringify(problems.length > 0 ? { errors: problems } : { status: 'ok' }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return receiver;
}

const issues = (schema: z.ZodType) => (body: unknown) => {
  const r = schema.safeParse(body);
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
};

// Slack Block Kit, as documented for incoming webhooks: `text` is the fallback/notification text;
// at most 50 blocks; header text plain_text ≤ 150 chars; section text ≤ 3000, at most 10 fields of
// ≤ 2000 chars each; context up to 10 elements.
const slackText = (max: number) =>
  z.strictObject({
    type: z.enum(['mrkdwn', 'plain_text']),
    text: z.string().min(1).max(max),
    emoji: z.boolean().optional(),
  });
export const slackShape = z.strictObject({
  text: z.string().min(1),
  blocks: z
    .array(
      z.discriminatedUnion('type', [
        z.strictObject({
          type: z.literal('header'),
          text: z.strictObject({
            type: z.literal('plain_text'),
            text: z.string().min(1).max(150),
            emoji: z.boolean().optional(),
          }),
        }),
        z.strictObject({
          type: z.literal('section'),
          text: slackText(3000),
          fields: z.array(slackText(2000)).max(10).optional(),
        }),
        z.strictObject({ type: z.literal('context'), elements: z.array(slackText(3000)).min(1).max(10) }),
        z.strictObject({ type: z.literal('divider') }),
      ]),
    )
    .max(50),
});

// Teams Workflows: the message wrapper with one Adaptive Card attachment.
const textBlock = z.object({ type: z.literal('TextBlock'), text: z.string().min(1) });
const factSet = z.object({
  type: z.literal('FactSet'),
  facts: z.array(z.strictObject({ title: z.string(), value: z.string() })).min(1),
});
export const teamsShape = z.strictObject({
  type: z.literal('message'),
  attachments: z
    .array(
      z.strictObject({
        contentType: z.literal('application/vnd.microsoft.card.adaptive'),
        contentUrl: z.string().nullable().optional(),
        content: z.object({
          $schema: z.literal('http://adaptivecards.io/schemas/adaptive-card.json'),
          type: z.literal('AdaptiveCard'),
          version: z.literal('1.4'),
          body: z.array(z.union([textBlock, factSet])).min(1),
        }),
      }),
    )
    .length(1),
});

// PagerDuty Events API v2 (/v2/enqueue).
export const pagerdutyShape = z.discriminatedUnion('event_action', [
  z.strictObject({
    routing_key: z.string().min(1),
    event_action: z.literal('trigger'),
    dedup_key: z.string().max(255).optional(),
    payload: z.strictObject({
      summary: z.string().min(1).max(1024),
      source: z.string().min(1),
      severity: z.enum(['critical', 'error', 'warning', 'info']),
      timestamp: z.iso.datetime().optional(),
      component: z.string().optional(),
      group: z.string().optional(),
      class: z.string().optional(),
      custom_details: z.record(z.string(), z.unknown()).optional(),
    }),
    client: z.string().optional(),
    client_url: z.string().optional(),
    images: z.array(z.unknown()).optional(),
    links: z.array(z.unknown()).optional(),
  }),
  z.strictObject({
    routing_key: z.string().min(1),
    event_action: z.enum(['acknowledge', 'resolve']),
    dedup_key: z.string().min(1).max(255),
  }),
]);

export const validateSlack = issues(slackShape);
export const validateTeams = issues(teamsShape);
export const validatePagerDuty = issues(pagerdutyShape);
