// A small real HTTP server that speaks the collector's side of shared/wire.ts, for agent tests that
// need to stop, restart or misbehave on cue. It stores each result id once, as the collector does.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Result } from '../../shared/result.ts';
import { type AgentPlan, type Heartbeat, heartbeatSchema, resultBatchSchema } from '../../shared/wire.ts';

export class StandInCollector {
  plans = new Map<string, AgentPlan>();
  tokens = new Map<string, string>();
  readonly stored = new Map<string, Result>();
  readonly batchIds: string[] = [];
  readonly heartbeats: Heartbeat[] = [];
  duplicates = 0;
  /** Store the next N batches but drop the connection instead of answering (a lost acknowledgement). */
  loseAcks = 0;
  /** Answer the next N result posts with this status. */
  failNext: { status: number; count: number } | undefined;
  port = 0;
  private server: Server | undefined;

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  /** Stops listening (agents then see connection refused); start() again brings it back on the same port. */
  async stop(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (s === undefined) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const reply = (status: number, json: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(json));
    };
    const bearer = (req.headers.authorization ?? '').replace(/^Bearer /, '');
    const site =
      url.pathname === '/api/v1/plan'
        ? (url.searchParams.get('site') ?? '')
        : ((JSON.parse(body || '{}') as { site?: string }).site ?? '');
    const token = this.tokens.get(site);
    if (token === undefined) return reply(404, { error: `unknown site "${site}"` });
    if (token !== bearer) return reply(401, { error: `wrong token for site "${site}"` });

    if (req.method === 'GET' && url.pathname === '/api/v1/plan') {
      return reply(200, this.plans.get(site));
    }
    if (req.method === 'POST' && url.pathname === '/api/v1/results') {
      if (this.failNext !== undefined && this.failNext.count > 0) {
        this.failNext.count -= 1;
        return reply(this.failNext.status, { error: 'told to fail' });
      }
      const parsed = resultBatchSchema.safeParse(JSON.parse(body));
      if (!parsed.success) return reply(400, { error: 'invalid batch', details: [parsed.error.message] });
      let stored = 0;
      let duplicates = 0;
      for (const r of parsed.data.results) {
        if (this.stored.has(r.id)) duplicates += 1;
        else {
          this.stored.set(r.id, r);
          stored += 1;
        }
      }
      this.duplicates += duplicates;
      this.batchIds.push(parsed.data.batch_id);
      if (this.loseAcks > 0) {
        this.loseAcks -= 1;
        req.socket.destroy();
        return;
      }
      return reply(200, { stored, duplicates });
    }
    if (req.method === 'POST' && url.pathname === '/api/v1/heartbeat') {
      this.heartbeats.push(heartbeatSchema.parse(JSON.parse(body)));
      return reply(202, { ok: true });
    }
    reply(404, { error: 'no such path' });
  }
}
