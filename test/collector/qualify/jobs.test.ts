import { describe, expect, it } from 'vitest';
import { PICKUP_TIMEOUT_MS, QualificationError, Qualifications } from '../../../collector/qualify/jobs.ts';
import { parseTopology } from '../../../shared/config/load.ts';
import { deriveLinks } from '../../../shared/topology/requirements.ts';
import type { QualificationRequest } from '../../../shared/wire.ts';

const topology = parseTopology(`
sites:
  A: {address: 127.0.0.1}
  B: {address: 127.0.0.2, reflector_port: 5000, iperf3_port: 5001}
  C: {address: 127.0.0.3}
  D: {address: 127.0.0.4}
clusters:
  one: {subclusters: {sc1: {nodes: {a: A, b: B}}, sc2: {nodes: {c: C, d: D}}}}
`);
const links = deriveLinks(topology); // a full mesh of A, B, C, D: 6 links
const request = (over: Partial<QualificationRequest> = {}): QualificationRequest => ({
  links: null,
  duration_ms: 10_000,
  test_duration_ms: 1000,
  rtt: { method: 'udp', count: 10, spacing_ms: 100, timeout_ms: 1000 },
  skip_throughput: false,
  ...over,
});
const done = { measurements: { rounds: [], tcp: [], udp: [], interrupted: false }, error: null };

describe('mesh qualification jobs', () => {
  it('run every link in rounds in which no site takes part in two tasks', () => {
    const q = new Qualifications();
    const job = q.create(request(), topology, links, 0);
    expect(job.tasks).toHaveLength(6);
    const rounds = Math.max(...job.tasks.map((t) => t.round)) + 1;
    for (let r = 0; r < rounds; r++) {
      const sites = job.tasks.filter((t) => t.round === r).flatMap((t) => [t.site, t.peer]);
      expect(new Set(sites).size, `round ${r}`).toBe(sites.length);
    }
    expect(rounds).toBe(3); // K4 needs three rounds of two disjoint links
  });

  it('hand an agent only the tasks of the current round, with the peer and the required rate', () => {
    const q = new Qualifications();
    const job = q.create(request({ links: [['B', 'A']] }), topology, links, 0);
    expect(q.takeTasks('B', 1)).toEqual([]);
    const [task] = q.takeTasks('A', 1);
    expect(task).toMatchObject({
      site: 'A',
      peer: { site: 'B', address: '127.0.0.2', reflector_port: 5000, iperf3_port: 5001 },
      required_bps: 5e6,
    });
    expect(q.takeTasks('A', 2)).toEqual([]); // taken once
    q.complete(task?.id as string, 'A', done, 3);
    expect(q.get(job.id, 4)?.state).toBe('done');
  });

  it('start the next round only when the current one has finished', () => {
    const q = new Qualifications();
    const job = q.create(request(), topology, links, 0);
    const sites = ['A', 'B', 'C', 'D'];
    const first = sites.flatMap((site) => q.takeTasks(site, 1));
    expect(first.map((t) => t.id).sort()).toEqual(
      job.tasks
        .filter((t) => t.round === 0)
        .map((t) => t.id)
        .sort(),
    );
    expect(sites.flatMap((site) => q.takeTasks(site, 2))).toEqual([]);
    for (const t of first) q.complete(t.id, t.site, done, 3);
    const second = sites.flatMap((site) => q.takeTasks(site, 4));
    expect(second.map((t) => t.id).sort()).toEqual(
      job.tasks
        .filter((t) => t.round === 1)
        .map((t) => t.id)
        .sort(),
    );
  });

  it('fail a task nobody picks up, so the qualification still ends and says why', () => {
    const q = new Qualifications();
    const job = q.create(request({ links: [['A', 'B']] }), topology, links, 0);
    const after = q.get(job.id, PICKUP_TIMEOUT_MS + 1);
    expect(after?.state).toBe('done');
    expect(after?.tasks[0]?.state).toBe('failed');
    expect(after?.tasks[0]?.error).toContain('the agent at A did not pick up the task');
  });

  it('tell a running agent it was cancelled, and keep what it sends back', () => {
    const q = new Qualifications();
    const job = q.create(request({ links: [['A', 'B']] }), topology, links, 0);
    const [task] = q.takeTasks('A', 1);
    const id = task?.id as string;
    expect(
      q.progress(id, 'A', { elapsed_ms: 1, remaining_ms: 9, phase: 'RTT', rounds: 1, last_rtt_ms: 1 }, 2),
    ).toEqual({
      cancelled: false,
    });
    q.cancel(job.id, 3);
    expect(
      q.progress(id, 'A', { elapsed_ms: 2, remaining_ms: 8, phase: 'RTT', rounds: 2, last_rtt_ms: 1 }, 4),
    ).toEqual({
      cancelled: true,
    });
    q.complete(id, 'A', { ...done, measurements: { ...done.measurements, interrupted: true } }, 5);
    const view = q.get(job.id, 6);
    expect(view?.state).toBe('cancelled');
    expect(view?.tasks[0]?.measurements?.interrupted).toBe(true);
  });

  it('refuse unknown links, another site’s task, and a second qualification at a busy site', () => {
    const q = new Qualifications();
    expect(() => q.create(request({ links: [['A', 'Z']] }), topology, links, 0)).toThrow(
      'not a link of the topology: A-Z',
    );
    q.create(request({ links: [['A', 'B']] }), topology, links, 0);
    const [task] = q.takeTasks('A', 1);
    expect(() => q.complete(task?.id as string, 'B', done, 2)).toThrow('belongs to site "A", not "B"');
    let err: unknown;
    try {
      q.create(request({ links: [['B', 'C']] }), topology, links, 3);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(QualificationError);
    expect((err as QualificationError).status).toBe(409);
    expect((err as Error).message).toContain('another qualification is still running at B');
  });
});
