// The links as observed, kept up to date as results arrive (issue 14): each link's two direction views,
// the first time they can change without a new result, and its alert subjects; each site's
// measurement_failing subjects. refresh() observes again only the links with new results (heard from
// the store's onStored) or due to change, and rebuilds everything from the store for a new topology or
// links, or a time before the last one. The evaluator steps what changed (evaluator.ts).
import type { Topology } from '../../shared/topology/model.ts';
import type { LinkRequirement } from '../../shared/topology/requirements.ts';
import { LINK_RULES } from '../../shared/wire.ts';
import { type DirectionView, observeLink, testsHorizonMs } from '../alerts/directions.ts';
import { MEASUREMENT_CAUSES, refusedByReflector } from '../alerts/measured.ts';
import { linkDedupKey, linkSubjects, type Subject, siteSubjects } from '../alerts/rules.ts';
import { planSchedule } from '../plan/plan.ts';
import type { Store } from '../store/store.ts';
import { type Horizons, LiveResults, pairKey } from './live.ts';

/** The memory's old rounds are dropped at most this often. */
const PRUNE_SPACING_MS = 1000;

/** What is observed: a topology and its links. */
export interface Observable {
  topology: Topology;
  links: readonly LinkRequirement[];
}

export /** One link as last observed, with its subjects. */
interface LinkEntry {
  /** Its place among the topology's links. */
  index: number;
  link: LinkRequirement;
  key: string;
  views: [DirectionView, DirectionView];
  next_change_ms: number;
  subjects: Subject[];
}

/** The observation of one topology and its links, kept up to date as results arrive. */
export interface LiveView {
  topology: Topology;
  links: readonly LinkRequirement[];
  cycleMs: number;
  horizons: Horizons;
  entries: LinkEntry[];
  byPair: Map<string, LinkEntry>;
  /** Link alert dedup key → its link. */
  byKey: Map<string, LinkEntry>;
  /** Site → the links it is one end of. */
  bySite: Map<string, LinkEntry[]>;
  /** Site → its measurement_failing subjects as last observed. */
  siteSubjects: Map<string, Subject[]>;
  views: readonly DirectionView[];
  now: number;
  prunedAt: number;
}

const CAUSES: ReadonlySet<string> = new Set(MEASUREMENT_CAUSES);

/** What measurement_failing reads of a direction's latest measurements (siteSubjects, measured.ts). */
const measuredSignature = (d: DirectionView): string =>
  d.latest.map((r) => (r.error && CAUSES.has(r.error.code) ? `${r.error.code}@${r.time_ms}` : '-')).join(',');

/** What measurement_failing/refused reads of a direction towards a reflector. */
const reflectorSignature = (d: DirectionView): string =>
  d.reflector_round === null
    ? 'none'
    : refusedByReflector(d.reflector_round)
      ? `refused@${d.reflector_round.time_ms}`
      : 'answered';

export class LinkViews {
  private readonly live = new LiveResults();
  /** Links (pairKey) with results stored since they were last observed. */
  private readonly dirty = new Set<string>();
  private view: LiveView | null = null;
  /** Links observed again since their subjects were last stepped. */
  readonly unstepped = new Set<LinkEntry>();
  /** Sites whose links were observed again since their subjects were last stepped. */
  readonly touchedSites = new Set<string>();
  /** Rebuilt since the last step: the next step must step every subject. */
  rebuilt = false;

  constructor(private readonly store: Store) {
    store.onStored((results) => {
      for (const r of results) this.dirty.add(this.live.add(r));
    });
  }

  /** The subjects of every link observed again have been stepped. */
  stepped(): void {
    this.unstepped.clear();
    this.touchedSites.clear();
    this.rebuilt = false;
  }

  /**
   * Brings the live views up to `now`: rebuilt from the store for a new topology or links, or for a
   * time before the last one; otherwise only the links with new results or due to change.
   */
  refresh(ctx: Observable, now: number): LiveView {
    const v = this.view;
    if (v === null || v.topology !== ctx.topology || v.links !== ctx.links || now < v.now)
      return this.rebuild(ctx, now);
    let changed = false;
    for (const e of v.entries) {
      if (e.next_change_ms > now && !this.dirty.has(e.key)) continue;
      this.reobserve(v, e, now);
      changed = true;
    }
    this.dirty.clear();
    v.now = now;
    if (changed) v.views = v.entries.flatMap((e) => e.views);
    if (now - v.prunedAt >= PRUNE_SPACING_MS) {
      this.live.prune(now, v.horizons);
      v.prunedAt = now;
    }
    return v;
  }

  private rebuild(ctx: Observable, now: number): LiveView {
    const { topology, links } = ctx;
    // Goodput goes stale, and failed tests count, by the cycle the agents run the tests in.
    const cycleMs = planSchedule(topology, links).cycle_ms;
    const horizons = { rtt_ms: topology.alerts.window, tests_ms: testsHorizonMs(topology, cycleMs) };
    this.live.rebuild(this.store, links, now, horizons);
    this.dirty.clear();
    const v: LiveView = {
      topology,
      links,
      cycleMs,
      horizons,
      entries: [],
      byPair: new Map(),
      byKey: new Map(),
      bySite: new Map([...topology.sites.keys()].map((s) => [s, []])),
      siteSubjects: new Map(),
      views: [],
      now,
      prunedAt: now,
    };
    for (const link of links) {
      const [a, b] = link.sites;
      const o = observeLink(topology, link, this.live, now, cycleMs);
      const e: LinkEntry = {
        index: v.entries.length,
        link,
        key: pairKey(a, b),
        views: o.views,
        next_change_ms: o.next_change_ms,
        subjects: linkSubjects(topology, link, o.views),
      };
      v.entries.push(e);
      v.byPair.set(e.key, e);
      for (const rule of LINK_RULES) v.byKey.set(linkDedupKey(rule, a, b), e);
      for (const site of [a, b]) v.bySite.get(site)?.push(e);
    }
    for (const site of topology.sites.keys()) this.observeSite(v, site);
    v.views = v.entries.flatMap((e) => e.views);
    this.view = v;
    this.unstepped.clear();
    this.touchedSites.clear();
    this.rebuilt = true;
    return v;
  }

  private reobserve(v: LiveView, e: LinkEntry, now: number): void {
    const o = observeLink(v.topology, e.link, this.live, now, v.cycleMs);
    // A site's measurement_failing subjects read its own directions' latest measurements and its
    // peers' rounds towards its reflector: observed again only when what they read changed.
    o.views.forEach((d, i) => {
      const old = e.views[i] as DirectionView;
      if (measuredSignature(old) !== measuredSignature(d)) this.touchedSites.add(d.src);
      if (reflectorSignature(old) !== reflectorSignature(d)) this.touchedSites.add(d.dst);
    });
    e.views = o.views;
    e.next_change_ms = o.next_change_ms;
    e.subjects = linkSubjects(v.topology, e.link, o.views);
    this.unstepped.add(e);
  }

  observeSite(v: LiveView, site: string): Subject[] {
    const from: DirectionView[] = [];
    const towards: DirectionView[] = [];
    for (const e of v.bySite.get(site) ?? [])
      for (const d of e.views) {
        if (d.src === site) from.push(d);
        else if (d.dst === site) towards.push(d);
      }
    const subjects = siteSubjects(site, from, towards);
    v.siteSubjects.set(site, subjects);
    return subjects;
  }
}
