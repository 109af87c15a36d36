// One link: its requirement and why (as `wanwatch plan` prints it), each direction's latest figures, and
// per direction its history over the chosen range: latency, loss and jitter, goodput against the
// requirement, with the link's alerts on the same time axis and listed below. The range buttons and
// dragging across a chart choose what is fetched; the series come downsampled by the collector.
import type uPlot from 'uplot';
import type { SeriesReply } from '../../shared/series-wire.ts';
import type { LinkJson } from '../../shared/wire.ts';
import { api, NeedsCredential } from '../api.ts';
import { type ChartHooks, goodputChart, latencyChart, lossChart } from '../charts.ts';
import { el, fill } from '../dom.ts';
import { duration, mbps, ms, percent, time } from '../format.ts';
import type { Live } from '../live.ts';
import { SHOWN, shown } from '../state.ts';
import type { Page } from './page.ts';

const HOUR = 3_600_000;
export const RANGES: [string, number][] = [
  ['1h', HOUR],
  ['6h', 6 * HOUR],
  ['24h', 24 * HOUR],
  ['7d', 7 * 24 * HOUR],
  ['30d', 30 * 24 * HOUR],
];
/** Series are fetched again this often while the range ends now. */
const REFRESH_MS = 30_000;

export function linkPage(root: HTMLElement, live: Live, a: string, b: string): Page {
  const [s1, s2] = [a, b].sort() as [string, string];
  let span = Number(sessionStorage.getItem('wanwatch.range')) || 6 * HOUR;
  /** A dragged span; null: the last `span` up to now. */
  let zoom: [number, number] | null = null;
  const header = el('div', { class: 'link-head' });
  const requirement = el('section', { class: 'card requirement' });
  const buttons = el('div', { class: 'ranges', role: 'group', 'aria-label': 'time range' });
  const status = el('span', { class: 'muted range-label' });
  const charts = el('div', { class: 'directions' });
  const history = el('section', { class: 'card history' });
  fill(
    root,
    el('p', { class: 'crumbs' }, el('a', { href: '#/' }, '← Overview')),
    header,
    requirement,
    el('section', { class: 'toolbar' }, el('h2', {}, 'History'), buttons, status),
    charts,
    history,
  );
  let plots: uPlot[] = [];
  let timer: number | undefined;
  let gen = 0;

  const drawButtons = () =>
    fill(
      buttons,
      ...RANGES.map(([label, v]) =>
        el(
          'button',
          {
            type: 'button',
            class: zoom === null && v === span ? 'on' : '',
            'data-range': label,
            onclick: () => {
              span = v;
              zoom = null;
              sessionStorage.setItem('wanwatch.range', String(v));
              void load();
            },
          },
          label,
        ),
      ),
      zoom === null
        ? null
        : el(
            'button',
            {
              type: 'button',
              class: 'on',
              onclick: () => {
                zoom = null;
                void load();
              },
            },
            'reset zoom',
          ),
    );

  const hooks: ChartHooks = {
    onZoom: (from, to) => {
      zoom = [from, Math.max(to, from + 60_000)];
      void load();
    },
  };

  async function load(): Promise<void> {
    const mine = ++gen;
    window.clearTimeout(timer);
    drawButtons();
    const [from, to] = zoom ?? [Date.now() - span, Date.now()];
    fill(status, `${time(from)} – ${time(to)} · loading…`);
    try {
      const width = Math.max(400, charts.clientWidth - 8);
      const points = Math.min(1000, Math.max(100, Math.floor(width / 1.5)));
      const series = await Promise.all([
        api.series(s1, s2, from, to, points),
        api.series(s2, s1, from, to, points),
      ]);
      if (mine !== gen) return;
      draw(series, width);
      fill(status, `${time(from)} – ${time(to)} · one point per ${duration(series[0].bucket_ms)}`);
      drawHistory(series[0]);
    } catch (err) {
      if (mine !== gen) return;
      fill(
        status,
        err instanceof NeedsCredential ? 'needs a credential' : `could not load: ${(err as Error).message}`,
      );
    }
    if (zoom === null) timer = window.setTimeout(() => void load(), REFRESH_MS);
  }

  function draw(series: SeriesReply[], width: number): void {
    for (const p of plots) p.destroy();
    plots = [];
    charts.replaceChildren();
    for (const s of series) {
      const lat = el('div', {
        class: 'chart',
        'data-chart': 'latency',
        'data-src': s.src,
        'data-dst': s.dst,
        'data-points': s.rtt.time_ms.length,
        'data-span-ms': s.to_ms - s.from_ms,
      });
      const loss = el('div', { class: 'chart', 'data-chart': 'loss', 'data-src': s.src, 'data-dst': s.dst });
      const good = el('div', {
        class: 'chart',
        'data-chart': 'goodput',
        'data-src': s.src,
        'data-dst': s.dst,
        'data-points': s.throughput.time_ms.length,
      });
      charts.append(
        el(
          'section',
          { class: 'card direction' },
          el('h3', {}, `${s.src} → ${s.dst}`),
          el(
            'h4',
            {},
            'Latency',
            el(
              'span',
              { class: 'muted' },
              ' — median coloured by loss; bands p5–p95 of round medians and min–max of all samples; shaded: alert firing',
            ),
          ),
          lat,
          el('h4', {}, 'Loss and jitter'),
          loss,
          el('h4', {}, 'Goodput', el('span', { class: 'muted' }, ` — tests sending ${s.src} → ${s.dst}`)),
          s.throughput.time_ms.length === 0
            ? el('p', { class: 'muted empty' }, 'No throughput test in this range.')
            : good,
        ),
      );
      plots.push(latencyChart(lat, s, width, hooks), lossChart(loss, s, width, hooks));
      if (s.throughput.time_ms.length > 0) plots.push(goodputChart(good, s, width, hooks));
    }
  }

  function drawHistory(s: SeriesReply): void {
    fill(
      history,
      el('h2', {}, 'Alerts in this range'),
      s.alerts.length === 0
        ? el('p', { class: 'muted' }, 'None.')
        : el(
            'table',
            { class: 'list' },
            el(
              'thead',
              {},
              el(
                'tr',
                {},
                el('th', {}, 'time'),
                el('th', {}, 'rule'),
                el('th', {}, 'status'),
                el('th', {}, 'summary'),
              ),
            ),
            el(
              'tbody',
              {},
              [...s.alerts]
                .reverse()
                .map((e) =>
                  el(
                    'tr',
                    {},
                    el('td', { class: 'nowrap' }, time(e.time_ms)),
                    el('td', {}, e.rule),
                    el(
                      'td',
                      {},
                      el('span', { class: `pill ${e.status === 'firing' ? 'firing' : 'ok'}` }, e.status),
                    ),
                    el('td', {}, e.summary),
                  ),
                ),
            ),
          ),
    );
  }

  const off = live.subscribe((snap) => {
    const link = snap.links.links.find((l) => l.sites[0] === s1 && l.sites[1] === s2);
    if (!link) {
      fill(
        header,
        el('h1', {}, `${s1} ↔ ${s2}`),
        el('p', { class: 'muted' }, 'This is no link of the topology in force.'),
      );
      return;
    }
    drawHeader(header, link);
    drawRequirement(requirement, link);
  });
  void load();
  return {
    dispose: () => {
      gen++;
      off();
      window.clearTimeout(timer);
      for (const p of plots) p.destroy();
    },
    refresh: () => void load(),
  };
}

function drawHeader(header: HTMLElement, link: LinkJson): void {
  const st =
    link.state === 'unknown'
      ? link.directions.some((d) => d.last_result_ms !== null)
        ? 'stale'
        : 'unmeasured'
      : link.state;
  fill(
    header,
    el(
      'h1',
      {},
      `${link.sites[0]} ↔ ${link.sites[1]} `,
      el(
        'span',
        { class: `pill ${st}`, 'data-link-state': link.state },
        `${SHOWN[st].symbol} ${SHOWN[st].word}`,
      ),
    ),
    el(
      'div',
      { class: 'now' },
      ...link.directions.map((d) => {
        const s = shown(d);
        return el(
          'div',
          { class: `card figure ${s}` },
          el('h3', {}, `${d.src} → ${d.dst}`, el('span', { class: `pill ${s}` }, SHOWN[s].word)),
          el(
            'dl',
            {},
            el('dt', {}, `${d.rtt_statistic} RTT`),
            el(
              'dd',
              { class: d.rtt_ms !== null && d.rtt_ms > d.max_rtt_ms ? 'over' : '' },
              `${ms(d.rtt_ms)} / ${ms(d.max_rtt_ms)}`,
            ),
            el('dt', {}, 'loss'),
            el(
              'dd',
              { class: d.loss_percent !== null && d.loss_percent > d.max_loss_percent ? 'over' : '' },
              `${percent(d.loss_percent)} / ${percent(d.max_loss_percent)}`,
            ),
            el('dt', {}, 'goodput'),
            el(
              'dd',
              {
                class:
                  d.goodput_bps !== null && !d.goodput_stale && d.goodput_bps < d.required_bps ? 'over' : '',
              },
              `${mbps(d.goodput_bps)}${d.goodput_stale ? ' (stale)' : ''} / ${mbps(d.required_bps)}`,
            ),
            el('dt', {}, 'rounds in window'),
            el('dd', {}, String(d.rounds_in_window)),
          ),
          d.not_measured ? el('p', { class: 'warn' }, `Not measured: ${d.not_measured.message}`) : null,
          d.throughput_failure
            ? el(
                'p',
                { class: 'warn' },
                `Throughput tests failing (${d.throughput_failure.consecutive} in a row): ${d.throughput_failure.message}`,
              )
            : null,
        );
      }),
    ),
  );
}

function drawRequirement(card: HTMLElement, link: LinkJson): void {
  const firing = Object.entries(link.alerts).filter(([, s]) => s === 'firing' || s === 'pending');
  fill(
    card,
    el('h2', {}, 'Requirement'),
    el(
      'p',
      { class: 'derivation' },
      el('b', {}, `${link.required_mbps} Mbps`),
      ' each way: ',
      link.derivation,
    ),
    el(
      'p',
      {},
      `RTT at most ${link.max_rtt_ms} ms, loss at most ${link.max_loss_percent} %. Subclusters crossing this link: ${link.subclusters.join(', ') || 'none'}.`,
    ),
    firing.length === 0
      ? null
      : el(
          'p',
          {},
          'Alerts now: ',
          ...firing.map(([rule, st]) => el('span', { class: `pill ${st}` }, `${rule} ${st}`)),
        ),
  );
}
