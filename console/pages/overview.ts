// The overview: every site against every other, one cell per direction (row measures towards column),
// coloured and marked by its state, with its RTT against the limit and its goodput against the
// requirement. Rebuilt from each poll; the filter keeps the sites whose names contain any of its words.
import type { DirectionJson, LinkJson, LinksReply } from '../../shared/wire.ts';
import { el, fill } from '../dom.ts';
import { mbps, ms, percent } from '../format.ts';
import type { Live } from '../live.ts';
import { SHOWN, type Shown, shown } from '../state.ts';
import type { Page } from './page.ts';

/** Above this many sites cells show their symbol only; the numbers stay in the tooltip. */
const COMPACT_ABOVE = 12;

export function overviewPage(root: HTMLElement, live: Live): Page {
  const filter = el('input', {
    type: 'search',
    placeholder: 'filter sites',
    'aria-label': 'filter sites',
    value: sessionStorage.getItem('wanwatch.filter') ?? '',
  });
  const summary = el('div', { class: 'summary' });
  const matrix = el('div', { class: 'matrix-wrap' });
  const legend = el(
    'div',
    { class: 'legend' },
    ...(Object.keys(SHOWN) as Shown[]).map((s) =>
      el('span', { class: `cell-key ${s}` }, el('i', {}, SHOWN[s].symbol), SHOWN[s].word),
    ),
  );
  fill(
    root,
    el('section', { class: 'toolbar' }, el('h1', {}, 'Links'), filter, legend),
    summary,
    matrix,
    el(
      'p',
      { class: 'hint' },
      'Each cell is one direction: the row’s site measuring towards the column’s. Click a cell for its history.',
    ),
  );
  let latest: LinksReply | null = null;
  let down = new Set<string>();
  const render = () => {
    if (!latest) return;
    sessionStorage.setItem('wanwatch.filter', filter.value);
    const t0 = performance.now();
    renderMatrix(matrix, summary, latest, filter.value, down);
    root.dataset.renderMs = String(Math.round(performance.now() - t0));
  };
  filter.addEventListener('input', render);
  const off = live.subscribe((s) => {
    latest = s.links;
    down = new Set(s.agents.agents.filter((a) => !a.up).map((a) => a.site));
    render();
  });
  return { dispose: off };
}

function renderMatrix(
  wrap: HTMLElement,
  summary: HTMLElement,
  reply: LinksReply,
  query: string,
  down: ReadonlySet<string>,
): void {
  const all = [...new Set(reply.links.flatMap((l) => l.sites))].sort();
  const words = query
    .toLowerCase()
    .split(/[\s,]+/)
    .filter(Boolean);
  const sites = words.length === 0 ? all : all.filter((s) => words.some((w) => s.toLowerCase().includes(w)));
  const byDir = new Map<string, { link: LinkJson; d: DirectionJson }>();
  const linked = new Set<string>();
  for (const link of reply.links) {
    linked.add(`${link.sites[0]}\u0000${link.sites[1]}`);
    linked.add(`${link.sites[1]}\u0000${link.sites[0]}`);
    for (const d of link.directions) byDir.set(`${d.src}\u0000${d.dst}`, { link, d });
  }
  const tally: Record<Shown, number> = { ok: 0, pending: 0, firing: 0, stale: 0, unmeasured: 0 };
  for (const link of reply.links) tally[link.state === 'unknown' ? shownLink(link) : link.state]++;
  fill(
    summary,
    el('span', {}, `${reply.links.length} links between ${all.length} sites`),
    ...(Object.keys(tally) as Shown[])
      .filter((k) => tally[k] > 0)
      .map((k) => el('span', { class: `pill ${k}` }, `${tally[k]} ${SHOWN[k].word}`)),
    el(
      'span',
      { class: 'muted' },
      `${reply.rtt_statistic} RTT over ${Math.round(reply.window_ms / 60_000)} min`,
    ),
  );
  const compact = sites.length > COMPACT_ABOVE;
  const head = el(
    'tr',
    {},
    el('th', { class: 'corner' }, el('span', {}, 'from ↓ to →')),
    ...sites.map((s) => el('th', { class: 'col', scope: 'col', title: s }, el('span', {}, s))),
  );
  const rows = sites.map((src) =>
    el(
      'tr',
      {},
      el(
        'th',
        {
          scope: 'row',
          class: down.has(src) ? 'row down' : 'row',
          title: down.has(src) ? `the agent at ${src} is down: its measurements stopped` : null,
        },
        down.has(src) ? el('span', { class: 'agent-down', 'aria-label': 'agent down' }, '● ') : null,
        src,
      ),
      ...sites.map((dst) => {
        if (src === dst) return el('td', { class: 'self' });
        const hit = byDir.get(`${src}\u0000${dst}`);
        if (!hit) {
          const isLink = linked.has(`${src}\u0000${dst}`);
          return el(
            'td',
            {
              class: isLink ? 'cell unmeasured' : 'nolink',
              title: isLink ? `${src} → ${dst}: not measured yet` : `${src} and ${dst} are no link`,
            },
            isLink ? '–' : '',
          );
        }
        return cell(hit.link, hit.d, compact);
      }),
    ),
  );
  fill(
    wrap,
    el(
      'table',
      { class: `matrix${compact ? ' compact' : ''}` },
      el('thead', {}, head),
      el('tbody', {}, rows),
    ),
  );
}

function shownLink(link: LinkJson): Shown {
  return link.directions.some((d) => d.last_result_ms !== null) ? 'stale' : 'unmeasured';
}

function cell(link: LinkJson, d: DirectionJson, compact: boolean): HTMLElement {
  const s = shown(d);
  const alerting = (rule: keyof DirectionJson['alerts']) =>
    d.alerts[rule] === 'firing' || d.alerts[rule] === 'pending';
  const rttOver = d.rtt_ms !== null && d.rtt_ms > d.max_rtt_ms;
  const goodLow =
    (d.goodput_bps !== null && !d.goodput_stale && d.goodput_bps < d.required_bps) || alerting('goodput_low');
  // A cell red for loss says so: its RTT and goodput may both be within their limits.
  const lossOver = (d.loss_percent !== null && d.loss_percent > d.max_loss_percent) || alerting('loss_high');
  const title = [
    `${d.src} → ${d.dst}: ${SHOWN[s].word}`,
    `${d.rtt_statistic} RTT ${ms(d.rtt_ms)} (limit ${ms(d.max_rtt_ms)})`,
    `loss ${percent(d.loss_percent)} (limit ${percent(d.max_loss_percent)})`,
    `goodput ${mbps(d.goodput_bps)}${d.goodput_stale ? ' (stale)' : ''} (required ${mbps(d.required_bps)})`,
    ...Object.entries(d.alerts)
      .filter(([, st]) => st === 'firing' || st === 'pending')
      .map(([rule, st]) => `${rule}: ${st}`),
    d.not_measured ? `not measured: ${d.not_measured.message}` : '',
    d.throughput_failure ? `throughput failing: ${d.throughput_failure.message}` : '',
  ]
    .filter(Boolean)
    .join('\n');
  const [a, b] = link.sites;
  return el(
    'td',
    {
      class: `cell ${s}`,
      'data-src': d.src,
      'data-dst': d.dst,
      'data-state': d.state,
      'data-shown': s,
      title,
    },
    el(
      'a',
      {
        href: `#/link/${encodeURIComponent(a)}/${encodeURIComponent(b)}`,
        'aria-label': `${d.src} to ${d.dst}: ${SHOWN[s].word}`,
      },
      el('i', { class: 'sym' }, SHOWN[s].symbol),
      compact
        ? null
        : [
            el('span', { class: `rtt${rttOver ? ' over' : ''}` }, d.rtt_ms === null ? '–' : ms(d.rtt_ms)),
            el(
              'span',
              { class: `gp${goodLow ? ' over' : ''}${d.goodput_stale ? ' stale' : ''}` },
              d.goodput_bps === null
                ? ''
                : `${(d.goodput_bps / 1e6).toFixed(1)} / ${+(d.required_bps / 1e6).toFixed(1)} Mbps`,
            ),
            lossOver ? el('span', { class: 'loss over' }, `loss ${percent(d.loss_percent)}`) : null,
          ],
    ),
  );
}
