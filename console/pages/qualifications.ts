// Qualifications: the mesh qualifications the collector holds (its latest 20, in memory), newest first;
// a running one's tasks with their progress, read again every few seconds; what each link measured
// (RTT rounds and the iperf3 tests), and each qualification downloadable as the JSON the collector
// holds. The PASS / WARN / FAIL verdict is judged by `wanwatch qualify`, which started the run, and is
// in its report.
import type { Qualification } from '../../shared/wire.ts';
import { api, NeedsCredential } from '../api.ts';
import { el, fill } from '../dom.ts';
import { ago, duration, mbps, ms, time } from '../format.ts';
import { POLL_MS } from '../live.ts';
import type { Page } from './page.ts';

type Task = Qualification['tasks'][number];

export function qualificationsPage(root: HTMLElement): Page {
  const body = el('div', {});
  fill(
    root,
    el('section', { class: 'toolbar' }, el('h1', {}, 'Qualifications')),
    el(
      'p',
      { class: 'muted' },
      'Started with ',
      el('code', {}, 'wanwatch qualify -c FILE --collector URL'),
      '; the verdict of each link is in the report that command writes.',
    ),
    body,
  );
  let timer: number | undefined;
  let stopped = false;
  const load = async () => {
    window.clearTimeout(timer);
    try {
      const { qualifications } = await api.qualifications();
      if (stopped) return;
      render(body, qualifications);
    } catch (err) {
      if (stopped) return;
      fill(
        body,
        el(
          'p',
          { class: 'warn' },
          err instanceof NeedsCredential
            ? 'Reading needs a credential.'
            : `Could not read: ${(err as Error).message}`,
        ),
      );
    }
    if (!stopped) timer = window.setTimeout(() => void load(), POLL_MS);
  };
  void load();
  return {
    dispose: () => {
      stopped = true;
      window.clearTimeout(timer);
    },
    refresh: () => void load(),
  };
}

function render(body: HTMLElement, list: Qualification[]): void {
  const now = Date.now();
  if (list.length === 0) {
    fill(
      body,
      el(
        'section',
        { class: 'card' },
        el('p', { class: 'muted' }, 'No qualification since the collector started.'),
      ),
    );
    return;
  }
  fill(
    body,
    list.map((q) => {
      const done = q.tasks.filter((t) => t.state === 'done').length;
      return el(
        'section',
        { class: 'card qualification', 'data-id': q.id, 'data-state': q.state },
        el(
          'div',
          { class: 'toolbar' },
          el('h2', {}, `${time(q.created_at_ms)}`),
          el(
            'span',
            { class: `pill ${q.state === 'running' ? 'pending' : q.state === 'done' ? 'ok' : 'stale'}` },
            q.state,
          ),
          el(
            'span',
            { class: 'muted' },
            `${done} of ${q.tasks.length} links measured · started ${ago(q.created_at_ms, now)}`,
          ),
          q.monitoring_paused && q.monitoring_paused.length > 0 && q.state === 'running'
            ? el(
                'span',
                { class: 'muted' },
                `monitoring throughput held at ${q.monitoring_paused.join(', ')}`,
              )
            : null,
          el('button', { type: 'button', class: 'download', onclick: () => download(q) }, 'Download JSON'),
        ),
        el(
          'table',
          { class: 'list' },
          el(
            'thead',
            {},
            el(
              'tr',
              {},
              ...[
                'link',
                'round',
                'state',
                'progress',
                'RTT (median / p95 / max)',
                'loss',
                'throughput tests',
              ].map((h) => el('th', {}, h)),
            ),
          ),
          el('tbody', {}, q.tasks.map(taskRow)),
        ),
      );
    }),
  );
}

function taskRow(t: Task): HTMLElement {
  const p = t.progress;
  const share = p ? p.elapsed_ms / Math.max(1, p.elapsed_ms + p.remaining_ms) : t.state === 'done' ? 1 : 0;
  const samples = (t.measurements?.rounds ?? []).flatMap((r) => r.result.rtt?.samples_ms ?? []);
  const got = samples.filter((v): v is number => v !== null).sort((a, b) => a - b);
  const at = (q: number) =>
    got.length === 0 ? null : (got[Math.min(got.length - 1, Math.ceil(q * got.length) - 1)] ?? null);
  const tests = [...(t.measurements?.tcp ?? []), ...(t.measurements?.udp ?? [])];
  return el(
    'tr',
    { 'data-task': t.id, 'data-state': t.state },
    el('td', { class: 'nowrap' }, `${t.site} → ${t.peer}`),
    el('td', {}, String(t.round + 1)),
    el(
      'td',
      {},
      el(
        'span',
        {
          class: `pill ${t.state === 'done' ? 'ok' : t.state === 'failed' ? 'firing' : t.state === 'running' ? 'pending' : 'stale'}`,
        },
        t.state,
      ),
    ),
    el(
      'td',
      {},
      el('div', { class: 'bar' }, el('div', { class: `fill w${Math.round(share * 20) * 5}` })),
      p
        ? el(
            'div',
            { class: 'muted small' },
            `${p.phase} · ${p.rounds} rounds · ${duration(p.remaining_ms)} left${p.last_rtt_ms === null ? '' : ` · last ${ms(p.last_rtt_ms)}`}`,
          )
        : null,
      t.error ? el('div', { class: 'warn small' }, t.error) : null,
    ),
    el(
      'td',
      { class: 'nowrap' },
      got.length === 0 ? '–' : `${ms(at(0.5))} / ${ms(at(0.95))} / ${ms(got[got.length - 1])}`,
    ),
    el(
      'td',
      {},
      samples.length === 0 ? '–' : `${((100 * (samples.length - got.length)) / samples.length).toFixed(1)} %`,
    ),
    el(
      'td',
      {},
      tests.length === 0
        ? '–'
        : tests.map((r) =>
            el(
              'span',
              { class: 'tag' },
              r.throughput
                ? `${r.throughput.protocol.toUpperCase()} ${r.throughput.direction} ${mbps(r.throughput.goodput_bps)}`
                : `${r.error?.code ?? 'failed'}`,
            ),
          ),
    ),
  );
}

function download(q: Qualification): void {
  const url = URL.createObjectURL(new Blob([JSON.stringify(q, null, 2)], { type: 'application/json' }));
  const a = el('a', { href: url, download: `wanwatch-qualification-${q.id}.json` });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
