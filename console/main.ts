// The wanwatch web console: one page served by the collector at /, reading its read API. Pages are picked
// by the address's #fragment (#/, #/link/A/B, #/alerts, #/agents, #/plan) so that each can be bookmarked
// and the collector serves a single index.html.
import './style.css';
import { setCredential } from './api.ts';
import { el, fill } from './dom.ts';
import { Live, type Snapshot, type Trouble } from './live.ts';
import { agentsPage } from './pages/agents.ts';
import { alertsPage } from './pages/alerts.ts';
import { linkPage } from './pages/link.ts';
import { overviewPage } from './pages/overview.ts';
import type { Page } from './pages/page.ts';
import { planPage } from './pages/plan.ts';
import { qualificationsPage } from './pages/qualifications.ts';

const NAV: [string, string][] = [
  ['#/', 'Overview'],
  ['#/alerts', 'Alerts'],
  ['#/agents', 'Agents'],
  ['#/plan', 'Plan'],
  ['#/qualifications', 'Qualifications'],
];

const nav = el('nav', {}, ...NAV.map(([href, label]) => el('a', { href }, label)));
const counts = el('div', { class: 'counts', 'aria-live': 'polite' });
const banner = el('div', { class: 'banner', hidden: true, role: 'alert' });
const main = el('main', { id: 'page' });
const login = credentialForm();
document.body.append(
  el(
    'header',
    {},
    el('a', { class: 'brand', href: '#/' }, el('span', { class: 'logo' }, '◆'), 'wanwatch'),
    nav,
    counts,
  ),
  banner,
  login,
  main,
);

const live = new Live(showTrouble);
live.subscribe(updateCounts);

let current: Page | null = null;
function route(): void {
  current?.dispose();
  const hash = location.hash || '#/';
  const parts = hash.slice(2).split('/').map(decodeURIComponent);
  for (const a of nav.querySelectorAll('a'))
    a.classList.toggle('active', a.getAttribute('href') === `#/${parts[0] ?? ''}`);
  main.replaceChildren();
  if (parts[0] === 'link' && parts[1] && parts[2]) current = linkPage(main, live, parts[1], parts[2]);
  else if (parts[0] === 'alerts') current = alertsPage(main, live);
  else if (parts[0] === 'agents') current = agentsPage(main, live);
  else if (parts[0] === 'plan') current = planPage(main, live);
  else if (parts[0] === 'qualifications') current = qualificationsPage(main, live);
  else current = overviewPage(main, live);
}
window.addEventListener('hashchange', route);
route();
live.start();

function updateCounts(s: Snapshot): void {
  const firing = s.alerts.active.filter((a) => a.status === 'firing').length;
  const pending = s.alerts.active.filter((a) => a.status === 'pending').length;
  const down = s.agents.agents.filter((a) => !a.up).length;
  fill(
    counts,
    el(
      'a',
      { href: '#/alerts', class: `count ${firing > 0 ? 'firing' : 'calm'}`, 'data-count': 'firing' },
      el('b', {}, firing),
      ' firing',
    ),
    el(
      'a',
      { href: '#/alerts', class: `count ${pending > 0 ? 'pending' : 'calm'}`, 'data-count': 'pending' },
      el('b', {}, pending),
      ' pending',
    ),
    el(
      'a',
      { href: '#/agents', class: `count ${down > 0 ? 'firing' : 'calm'}`, 'data-count': 'agents-down' },
      el('b', {}, down),
      ` agent${down === 1 ? '' : 's'} down`,
    ),
    el('span', { class: 'updated', title: new Date(s.at).toLocaleString() }, 'live'),
  );
}

function showTrouble(t: Trouble): void {
  login.hidden = t?.kind !== 'credential';
  banner.hidden = t?.kind !== 'unreachable';
  if (t?.kind === 'unreachable')
    fill(banner, `The collector does not answer (${t.message}); trying again every few seconds.`);
  if (t?.kind === 'credential') {
    const msg = login.querySelector('.why');
    if (msg) msg.textContent = t.message;
    login.querySelector('input')?.focus();
  }
}

function credentialForm(): HTMLFormElement {
  const input = el('input', {
    type: 'password',
    name: 'credential',
    autocomplete: 'off',
    placeholder: 'viewer credential',
    'aria-label': 'viewer credential',
  });
  const form = el(
    'form',
    { class: 'login', hidden: true },
    el('h2', {}, 'This collector needs a credential to read'),
    el(
      'p',
      {},
      'Paste a viewer or operator credential from the collector’s ',
      el('code', {}, 'collector.credentials'),
      '. It is kept in this browser tab only.',
    ),
    el('p', { class: 'why' }),
    el('div', { class: 'row' }, input, el('button', { type: 'submit' }, 'Read')),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    setCredential(input.value.trim() || null);
    input.value = '';
    void live.poll();
    current?.refresh?.();
  });
  return form;
}
