// PromQL for the Prometheus renderings of the dashboards: what a panel asks of wanwatch's /metrics
// (collector/metrics/, docs/prometheus.md). Figures keep the units the panels show (ms, percent, bits
// per second), so one field configuration serves both back-ends. Every query is recorded by its text,
// so the tests can find the panel behind it.

export interface PromQuery {
  expr: string;
  /** Read at the end of the range (tables and stats that show the latest value); default: tables only. */
  instant?: boolean;
  /** Grafana's legend ({{label}}); default: the InfluxQL alias in that form. */
  legend?: string;
}

/** The link-direction variables of the link dashboard, as a PromQL selector. */
export const ON_LINK = '{src=~"$src", dst=~"$dst"}';
/** The site variable of the agents dashboard. */
export const ON_SITE = '{site=~"$site"}';

/** The requirement series carry only the link (and the target): join them to each direction. */
export const JOIN_LINK = 'on (job, instance, link)';

/** `perDirection` divided by the link's `linkSeries`. */
export const ofLink = (perDirection: string, linkSeries: string) =>
  `${perDirection} / ${JOIN_LINK} group_left () ${linkSeries}`;

/** The link's `linkSeries` once for each direction `selector` picks (labelled src, dst like the rest). */
export const perDirection = (linkSeries: string, selector = '') =>
  `${linkSeries} * ${JOIN_LINK} group_right () (0 * wanwatch_link_state${selector} + 1)`;

/** Every query rendered, by its text. */
export const PROM_QUERIES = new Set<string>();

export function promql(q: PromQuery): string {
  const text = q.expr.replace(/\s+/g, ' ').trim();
  PROM_QUERIES.add(text);
  return text;
}
