// Alerts: what is pending or firing now, and the latest events (the collector keeps the last 100 in the
// reply), with filters by rule, status and text. Links open their link page.
import type { AlertSubject, AlertsReply } from '../../shared/wire.ts';
import { el, fill } from '../dom.ts';
import { ago, time } from '../format.ts';
import type { Live } from '../live.ts';
import type { Page } from './page.ts';

export function subjectLabel(s: AlertSubject): Node | string {
  if (s.kind === 'link')
    return el(
      'a',
      { href: `#/link/${encodeURIComponent(s.sites[0])}/${encodeURIComponent(s.sites[1])}` },
      `${s.sites[0]} ↔ ${s.sites[1]}`,
    );
  if (s.kind === 'agent') return `agent ${s.site}`;
  return `output ${s.output}`;
}

const unit = (v: number | null, u: string) =>
  v === null
    ? '–'
    : u === 'bps'
      ? `${(v / 1e6).toFixed(1)} Mbps`
      : `${+v.toFixed(2)} ${u === 'percent' ? '%' : u}`;

/** The unit of each rule's observed value and limit (the active alerts' list does not carry it). */
const RULE_UNITS: Partial<Record<string, string>> = {
  rtt_high: 'ms',
  loss_high: 'percent',
  goodput_low: 'bps',
  link_down: 'percent',
  agent_down: 's',
  output_rows_refused: 'rows',
};

export function alertsPage(root: HTMLElement, live: Live): Page {
  const rule = el('select', { 'aria-label': 'rule' }, el('option', { value: '' }, 'every rule'));
  const status = el(
    'select',
    { 'aria-label': 'status' },
    el('option', { value: '' }, 'firing and resolved'),
    el('option', { value: 'firing' }, 'firing'),
    el('option', { value: 'resolved' }, 'resolved'),
  );
  const text = el('input', { type: 'search', placeholder: 'site or text', 'aria-label': 'filter events' });
  const active = el('section', { class: 'card' });
  const recent = el('section', { class: 'card' });
  fill(root, el('section', { class: 'toolbar' }, el('h1', {}, 'Alerts')), active, recent);
  let latest: AlertsReply | null = null;
  const render = () => {
    if (!latest) return;
    const now = Date.now();
    const rules = [
      ...new Set(latest.recent.map((e) => e.rule).concat(latest.active.map((a) => a.rule))),
    ].sort();
    const chosen = rule.value;
    fill(
      rule,
      el('option', { value: '' }, 'every rule'),
      ...rules.map((r) => el('option', { value: r, selected: r === chosen }, r)),
    );
    fill(
      active,
      el('h2', {}, `Active (${latest.active.length})`),
      latest.active.length === 0
        ? el('p', { class: 'muted' }, 'Nothing pending or firing.')
        : el(
            'table',
            { class: 'list', id: 'active-alerts' },
            el(
              'thead',
              {},
              el(
                'tr',
                {},
                ...['status', 'rule', 'subject', 'observed', 'limit', 'since', 'cause'].map((h) =>
                  el('th', {}, h),
                ),
              ),
            ),
            el(
              'tbody',
              {},
              latest.active.map((a) =>
                el(
                  'tr',
                  { 'data-dedup-key': a.dedup_key, 'data-status': a.status },
                  el('td', {}, el('span', { class: `pill ${a.status}` }, a.status)),
                  el('td', {}, a.rule),
                  el('td', {}, subjectLabel(a.subject)),
                  el('td', { class: 'nowrap' }, unit(a.observed, RULE_UNITS[a.rule] ?? '')),
                  el('td', { class: 'nowrap' }, unit(a.threshold, RULE_UNITS[a.rule] ?? '')),
                  el('td', { title: time(a.since_ms) }, ago(a.since_ms, now)),
                  el('td', {}, a.cause ? `${a.cause.code}: ${a.cause.message}` : ''),
                ),
              ),
            ),
          ),
    );
    const words = text.value.toLowerCase().trim();
    const events = latest.recent.filter(
      (e) =>
        (!rule.value || e.rule === rule.value) &&
        (!status.value || e.status === status.value) &&
        (!words || e.summary.toLowerCase().includes(words) || e.dedup_key.toLowerCase().includes(words)),
    );
    fill(
      recent,
      el(
        'div',
        { class: 'toolbar' },
        el('h2', {}, 'Events'),
        rule,
        status,
        text,
        el('span', { class: 'muted' }, `${events.length} of the latest ${latest.recent.length}`),
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
            ...['time', 'status', 'rule', 'subject', 'observed / limit', 'summary'].map((h) =>
              el('th', {}, h),
            ),
          ),
        ),
        el(
          'tbody',
          {},
          events.map((e) =>
            el(
              'tr',
              {},
              el('td', { class: 'nowrap' }, time(e.time_ms)),
              el(
                'td',
                {},
                el(
                  'span',
                  { class: `pill ${e.status === 'firing' ? (e.reminder ? 'pending' : 'firing') : 'ok'}` },
                  e.reminder ? 'reminder' : e.status,
                ),
              ),
              el('td', {}, e.rule),
              el('td', {}, subjectLabel(e.subject)),
              el('td', { class: 'nowrap' }, `${unit(e.observed, e.unit)} / ${unit(e.threshold, e.unit)}`),
              el('td', {}, e.summary),
            ),
          ),
        ),
      ),
    );
  };
  for (const c of [rule, status]) c.addEventListener('change', render);
  text.addEventListener('input', render);
  const off = live.subscribe((s) => {
    latest = s.alerts;
    // Rebuilding would drop the focus from the text filter while someone types.
    if (document.activeElement !== text) render();
  });
  return { dispose: off };
}
