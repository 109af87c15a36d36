// Qualifications: the mesh qualifications the collector holds (its latest 20, the finished ones kept in
// its store across restarts), newest first;
// a running one's tasks with their progress, read again every few seconds; what each link measured,
// each link judged as `wanwatch qualify` judges it (qualify/report/mesh.ts, against the requirements
// of GET /api/v1/links) with its checks, and the report downloadable as the same self-contained HTML
// page and JSON the command writes. "View report" shows the report the collector serves
// (GET /api/v1/qualifications/ID/report.html, under its own policy) in a sandboxed frame above the
// list, kept out of the list's redraws so the frame is not reloaded by every poll.

import { heldReport } from '../../qualify/report/held.ts';
import { renderHtml } from '../../qualify/report/html.ts';
import type { LinkReport, QualifyReport } from '../../qualify/report/model.ts';
import type { RttStatistic } from '../../shared/config/schema.ts';
import type { LinksReply, Qualification } from '../../shared/wire.ts';
import { api, NeedsCredential } from '../api.ts';
import { el, fill } from '../dom.ts';
import { ago, duration, mbps, ms, time } from '../format.ts';
import { type Live, POLL_MS } from '../live.ts';
import type { Page } from './page.ts';

type Task = Qualification['tasks'][number];

export function qualificationsPage(root: HTMLElement, live: Live): Page {
  const body = el('div', {});
  const viewer = el('div', {});
  const view = (q: Qualification | null, url?: string) => {
    if (q === null || url === undefined) return fill(viewer);
    const section = el(
      'section',
      { class: 'card report-view', 'data-id': q.id },
      el(
        'div',
        { class: 'toolbar' },
        el('h2', {}, `Report of the qualification started ${time(q.created_at_ms)}`),
        el('button', { type: 'button', onclick: () => view(null) }, 'Close'),
      ),
      el('iframe', {
        class: 'report',
        src: url,
        sandbox: '',
        title: `Qualification report ${q.id}`,
        referrerpolicy: 'no-referrer',
      }),
    );
    fill(viewer, section);
    section.scrollIntoView({ block: 'start' });
  };
  fill(
    root,
    el('section', { class: 'toolbar' }, el('h1', {}, 'Qualifications')),
    el(
      'p',
      { class: 'muted' },
      'Started with ',
      el('code', {}, 'wanwatch qualify -c FILE --collector URL'),
      '. Each link is judged as that command judges it, against the requirement the collector holds now.',
    ),
    viewer,
    body,
  );
  let timer: number | undefined;
  let stopped = false;
  const load = async () => {
    window.clearTimeout(timer);
    try {
      const { qualifications, reports } = await api.qualifications();
      if (stopped) return;
      render(body, qualifications, live.latest?.links ?? null, reports ?? {}, view);
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

/** The report `wanwatch qualify` would write for `q`, judged against the links the collector holds. */
export function reportOf(q: Qualification, links: LinksReply, now: number): QualifyReport {
  const first = links.links[0];
  return heldReport(
    q,
    links.links,
    {
      max_rtt_ms: first?.max_rtt_ms ?? 80,
      max_loss_percent: first?.max_loss_percent ?? 1,
      rtt_statistic: links.rtt_statistic as RttStatistic,
    },
    'web console',
    now,
  );
}

const verdictClass = (v: string) =>
  v === 'PASS' ? 'ok' : v === 'WARN' ? 'pending' : v === 'FAIL' ? 'firing' : 'stale';

function render(
  body: HTMLElement,
  list: Qualification[],
  links: LinksReply | null,
  reports: Record<string, string>,
  view: (q: Qualification, url: string) => void,
): void {
  const now = Date.now();
  if (list.length === 0) {
    fill(
      body,
      el(
        'section',
        { class: 'card' },
        el('p', { class: 'muted' }, 'No qualification kept by the collector yet.'),
      ),
    );
    return;
  }
  fill(
    body,
    list.map((q) => {
      const done = q.tasks.filter((t) => t.state === 'done').length;
      const report = q.state !== 'running' && links ? reportOf(q, links, now) : null;
      const byTask = new Map(q.tasks.map((t, i) => [t.id, report?.links[i]]));
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
          report
            ? el(
                'span',
                { class: `pill ${verdictClass(report.verdict)}`, 'data-verdict': report.verdict },
                report.verdict,
              )
            : null,
          reports[q.id]
            ? el(
                'button',
                {
                  type: 'button',
                  'data-view': 'report',
                  onclick: () => view(q, reports[q.id] as string),
                },
                'View report',
              )
            : null,
          report
            ? el(
                'button',
                {
                  type: 'button',
                  class: 'download',
                  'data-download': 'html',
                  onclick: () =>
                    download(renderHtml(report), 'text/html', `wanwatch-qualification-${q.id}.html`),
                },
                'Download HTML report',
              )
            : null,
          el(
            'button',
            {
              type: 'button',
              class: 'download',
              'data-download': 'json',
              onclick: () =>
                download(
                  JSON.stringify(report ?? q, null, 2),
                  'application/json',
                  `wanwatch-qualification-${q.id}.json`,
                ),
            },
            report ? 'Download JSON report' : 'Download JSON',
          ),
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
                'verdict',
              ].map((h) => el('th', {}, h)),
            ),
          ),
          el(
            'tbody',
            {},
            q.tasks.map((t) => taskRow(t, byTask.get(t.id))),
          ),
        ),
      );
    }),
  );
}

function taskRow(t: Task, judged: LinkReport | undefined): HTMLElement {
  const p = t.progress;
  const finished = t.state === 'done' || t.state === 'failed' || t.state === 'cancelled';
  const share = t.state === 'done' ? 1 : p ? p.elapsed_ms / Math.max(1, p.elapsed_ms + p.remaining_ms) : 0;
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
      p && !finished
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
      { class: 'nowrap' },
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
    el(
      'td',
      { class: 'checks' },
      judged
        ? [
            el(
              'span',
              { class: `pill ${verdictClass(judged.verdict)}`, 'data-verdict': judged.verdict },
              judged.verdict,
            ),
            el(
              'ul',
              {},
              judged.checks.map((c) =>
                el('li', {}, el('b', { class: verdictClass(c.verdict) }, c.verdict), ` ${c.reason}`),
              ),
            ),
          ]
        : '–',
    ),
  );
}

function download(text: string, type: string, name: string): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = el('a', { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
