// Agents: each site's agent as its heartbeats show it — up or down, version, last heartbeat, spool,
// errors by code, its responder's health, and what keeps it from measuring.
import type { AgentJson } from '../../shared/wire.ts';
import { el, fill } from '../dom.ts';
import { ago, time } from '../format.ts';
import type { Live } from '../live.ts';
import type { Page } from './page.ts';

export function agentsPage(root: HTMLElement, live: Live): Page {
  const body = el('section', { class: 'card' });
  fill(root, el('section', { class: 'toolbar' }, el('h1', {}, 'Agents')), body);
  const off = live.subscribe((s) => {
    const now = Date.now();
    const down = s.agents.agents.filter((a) => !a.up).length;
    fill(
      body,
      el('p', { class: 'muted' }, `${s.agents.agents.length} sites, ${down} down`),
      el(
        'table',
        { class: 'list', id: 'agents' },
        el(
          'thead',
          {},
          el(
            'tr',
            {},
            ...[
              'site',
              'state',
              'version',
              'last heartbeat',
              'plan',
              'spool',
              'errors by code',
              'responder',
              'problems',
            ].map((h) => el('th', {}, h)),
          ),
        ),
        el(
          'tbody',
          {},
          s.agents.agents.map((a) => row(a, now)),
        ),
      ),
    );
  });
  return { dispose: off };
}

function row(a: AgentJson, now: number): HTMLElement {
  const codes = Object.entries(a.errors_by_code ?? {}).filter(([, n]) => (n ?? 0) > 0);
  const r = a.responder;
  const problems = [
    ...a.measurement_failing.map((m) => `${m.code}: ${m.message}`),
    a.spool_error ? `spool: ${a.spool_error}` : '',
    a.double ? `two agents running (${a.double.instances.length} instances)` : '',
    a.version_refused
      ? `refused: wanwatch ${a.version_refused.version} is too ${a.version_refused.verdict === 'too_old' ? 'old' : 'new'} for this collector (${a.version_refused.collector_version}): ${a.version_refused.message}`
      : '',
  ].filter(Boolean);
  return el(
    'tr',
    { 'data-site': a.site, 'data-up': String(a.up) },
    el('td', {}, el('b', {}, a.site)),
    el('td', {}, el('span', { class: `pill ${a.up ? 'ok' : 'firing'}` }, a.up ? '✓ up' : '✕ down')),
    el('td', {}, a.version ?? '–'),
    el('td', { title: time(a.last_heartbeat_ms) }, ago(a.last_heartbeat_ms, now)),
    el(
      'td',
      {},
      a.plan_version === null ? '–' : a.plan_current ? 'current' : el('span', { class: 'warn' }, 'outdated'),
    ),
    el(
      'td',
      {},
      a.spool_queued === null
        ? '–'
        : `${a.spool_queued} queued${a.spool_dropped ? `, ${a.spool_dropped} dropped` : ''}`,
    ),
    el(
      'td',
      {},
      codes.length === 0
        ? a.errors === null
          ? '–'
          : 'none'
        : codes.map(([c, n]) => el('span', { class: 'tag' }, `${c} ${n}`)),
    ),
    el(
      'td',
      {},
      r === null
        ? '–'
        : [
            el(
              'span',
              { class: `tag ${r.reflector.up ? 'good' : 'bad'}`, title: r.reflector.last_error ?? '' },
              `reflector ${r.reflector.up ? 'up' : 'down'}`,
            ),
            el(
              'span',
              { class: `tag ${r.iperf3.up ? 'good' : 'bad'}`, title: r.iperf3.last_error ?? '' },
              `iperf3 ${r.iperf3.up ? 'up' : 'down'}${r.iperf3.restarts ? ` (${r.iperf3.restarts} restarts)` : ''}`,
            ),
          ],
    ),
    el(
      'td',
      { class: 'problems' },
      problems.length === 0 ? '' : problems.map((p) => el('div', { class: 'warn' }, p)),
    ),
  );
}
