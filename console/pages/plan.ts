// Plan: every link's requirement and how it was reached, as `wanwatch plan` prints it: which
// subclusters cross the link, so an operator sees why a link needs N Mbps.
import { el, fill } from '../dom.ts';
import type { Live } from '../live.ts';
import type { Page } from './page.ts';

export function planPage(root: HTMLElement, live: Live): Page {
  const body = el('section', { class: 'card' });
  fill(root, el('section', { class: 'toolbar' }, el('h1', {}, 'Plan')), body);
  const off = live.subscribe((s) => {
    const total = s.links.links.reduce((n, l) => n + l.required_mbps, 0);
    fill(
      body,
      el(
        'p',
        { class: 'muted' },
        `${s.links.links.length} links, ${total} Mbps required in all; RTT limit as the topology sets it, judged on the ${s.links.rtt_statistic} over ${Math.round(s.links.window_ms / 60_000)} min.`,
      ),
      el(
        'table',
        { class: 'list', id: 'plan' },
        el(
          'thead',
          {},
          el(
            'tr',
            {},
            ...['link', 'required', 'why', 'subclusters', 'max RTT', 'max loss'].map((h) =>
              el('th', { class: h === 'required' || h.startsWith('max') ? 'num' : null }, h),
            ),
          ),
        ),
        el(
          'tbody',
          {},
          s.links.links.map((l) =>
            el(
              'tr',
              {},
              el(
                'td',
                { class: 'nowrap' },
                el(
                  'a',
                  { href: `#/link/${encodeURIComponent(l.sites[0])}/${encodeURIComponent(l.sites[1])}` },
                  `${l.sites[0]} ↔ ${l.sites[1]}`,
                ),
              ),
              el('td', { class: 'num' }, `${l.required_mbps} Mbps`),
              el('td', {}, l.derivation),
              el(
                'td',
                {},
                l.subclusters.map((sc) => el('span', { class: 'tag' }, sc)),
              ),
              el('td', { class: 'num' }, `${l.max_rtt_ms} ms`),
              el('td', { class: 'num' }, `${l.max_loss_percent} %`),
            ),
          ),
        ),
      ),
    );
  });
  return { dispose: off };
}
