// The topology file's shape. One schema library (zod) validates it at the edge; everything past
// `loadTopology` works with the typed, normalised `Topology` of shared/topology/model.ts.
import { z } from 'zod';
import { DEFAULT_IPERF3_PORT, DEFAULT_REFLECTOR_PORT } from '../ports.ts';
import {
  type AlertsConfig,
  type CollectorConfig,
  type CredentialConfig,
  type InfluxOutputConfig,
  type LinkOverride,
  type NotifierConfig,
  type OutputConfig,
  PAGERDUTY_SEVERITIES,
  PROBE_METHODS,
  type ProbesConfig,
  RTT_STATISTICS,
  type SiteConfig,
  type Thresholds,
} from '../topology/settings.ts';
import { address } from './address.ts';
import { collectorSchema, type credentialSchema } from './collector.ts';
import { durationMs, envVarName, tokenSha256 } from './fields.ts';

// The settings' types belong to the model; they are exported here as well because code across
// wanwatch imports them from this file.
export type {
  AlertsConfig,
  CollectorConfig,
  CredentialConfig,
  InfluxOutputConfig,
  LinkOverride,
  NotifierConfig,
  OutputConfig,
  PagerDutySeverity,
  ProbeMethod,
  ProbesConfig,
  Role,
  RttStatistic,
  SiteConfig,
  Thresholds,
} from '../topology/settings.ts';
export { ROLES } from '../topology/settings.ts';
export {
  collectorSchema,
  credentialSchema,
  DEFAULT_MAX_CLOCK_SKEW_MS,
  DEFAULT_MAX_QUALIFICATION_MS,
  DEFAULT_MAX_TEST_MS,
} from './collector.ts';
export { address, durationMs, PAGERDUTY_SEVERITIES, PROBE_METHODS, RTT_STATISTICS };

const positive = (what: string) =>
  z.number({ error: `expected a number (${what})` }).positive({ error: `must be greater than 0 (${what})` });

const port = z.number().int().min(1).max(65535, { error: 'must be a port number from 1 to 65535' });

export const thresholdsSchema = z.strictObject({
  max_rtt_ms: positive('milliseconds of round-trip time').default(80),
  mbps_per_subcluster: positive('Mbps per subcluster').default(5),
  max_loss_percent: z
    .number({ error: 'expected a number (percent)' })
    .min(0, { error: 'must be 0 or more (percent)' })
    .max(100, { error: 'must be at most 100 (percent)' })
    .default(1),
  rtt_statistic: z.enum(RTT_STATISTICS).default('p95'),
});

export const siteSchema = z.strictObject({
  address,
  /** Name of an environment variable that holds this site's agent token. */
  token_env: envVarName.optional(),
  /** Hex SHA-256 of this site's agent token, for files that must not hold secrets. */
  token_sha256: tokenSha256.optional(),
  reflector_port: port.default(DEFAULT_REFLECTOR_PORT),
  iperf3_port: port.default(DEFAULT_IPERF3_PORT),
});

const siteName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, {
  error: 'site names use letters, digits, "_", "-" and "."',
});

export const subclusterSchema = z.strictObject({
  /** node name → site name */
  nodes: z.record(z.string(), z.string({ error: 'expected the name of a site' }), {
    error: 'expected a map of node name → site name',
  }),
});

export const clusterSchema = z.strictObject({
  subclusters: z.record(z.string(), subclusterSchema, {
    error: 'expected a map of subcluster name → {nodes: …}',
  }),
});

export const linkOverrideSchema = z.strictObject({
  between: z.tuple([z.string(), z.string()], { error: 'expected two site names, e.g. [dallas, london]' }),
  extra_mbps: z.number().min(0, { error: 'must be 0 or more (Mbps)' }).optional(),
  required_mbps: positive('Mbps').optional(),
  max_rtt_ms: positive('milliseconds of round-trip time').optional(),
  max_loss_percent: z.number().min(0).max(100).optional(),
});

export const probesSchema = z.strictObject({
  rtt: z
    .strictObject({
      method: z.enum(PROBE_METHODS).default('icmp'),
      // Rounds of 10 every 5 s: 30 samples in the 15 s window, so one slow sample never moves its p95
      // (docs/alerts.md, "Defaults"); 1 s timeout: a dead link's round is over 2.8 s after it began.
      interval: durationMs.default(5000),
      count: z.number().int().min(1).max(10_000).default(10),
      spacing: durationMs.default(200),
      timeout: durationMs.default(1000),
      /** Port for the tcp method (the peer's TCP listener). */
      tcp_port: port.optional(),
    })
    .prefault({}),
  throughput: z
    .strictObject({
      enabled: z.boolean().default(true),
      interval: durationMs.default(3_600_000),
      duration: durationMs.default(10_000),
      protocol: z.enum(['tcp', 'udp']).default('tcp'),
      streams: z.number().int().min(1).max(128).default(1),
      reverse: z.boolean().default(true),
      /** Seconds of TCP slow start left out of the result (iperf3 -O). */
      omit: durationMs.default(1000),
      /**
       * `required` (default): TCP tests send at most the link's required rate plus margin_percent
       * (iperf3 -b), so monitoring proves the requirement without filling the link (docs/measuring.md,
       * "Per-link budget"); `full`: as fast as the link goes, as `wanwatch qualify` measures.
       */
      rate: z.enum(['required', 'full']).default('required'),
      margin_percent: z.number().min(0).max(1000).default(20),
    })
    .prefault({}),
  heartbeat: z
    .strictObject({
      interval: durationMs.default(60_000),
      timeout: durationMs.default(30_000),
    })
    .prefault({}),
});

// The defaults page within 30 s, resolve within 2 min and page a link flapping every 20 s once; `for`
// outlasts the window, so no single round, however bad, pages. Their arithmetic: docs/alerts.md.
export const alertsSchema = z.strictObject({
  /** How long a breach must last before it fires. */
  for: durationMs.default(18_000),
  /** How long recovery must last before it resolves. */
  clear_for: durationMs.default(60_000),
  repeat_interval: durationMs.default(4 * 3_600_000),
  /** Window over which the RTT statistic and loss are computed. */
  window: durationMs.default(15_000),
  send_resolved: z.boolean().default(true),
  /** Failed throughput tests in a row on a link direction that raise throughput_failing. */
  throughput_failures: z.number().int().min(1).max(100).default(3),
});

const secretEnv = envVarName;
const url = z.url({ error: 'expected an http(s) URL' });
const pagerdutySeverity = z.enum(PAGERDUTY_SEVERITIES, {
  error: `expected a PagerDuty severity: ${PAGERDUTY_SEVERITIES.join(', ')}`,
});
/** A rule name (any: rules come and go) or `default`. */
const severityKey = z.string().regex(/^[a-z][a-z0-9_]*$/, { error: 'expected a rule name or default' });
const isObject = (v: unknown) => typeof v === 'object' && v !== null;
/** One severity for every rule, or a map of rule → severity; a bad map entry is named in the error. */
const severitySetting = z.union([pagerdutySeverity, z.record(severityKey, pagerdutySeverity)], {
  error: (iss) => {
    const entry = iss.code === 'invalid_union' && isObject(iss.input) ? iss.errors[1]?.[0] : undefined;
    if (entry === undefined)
      return `expected a PagerDuty severity (${PAGERDUTY_SEVERITIES.join(', ')}) or a map of rule → severity, e.g. {link_down: critical, default: warning}`;
    const why = entry.code === 'invalid_key' ? entry.issues[0]?.message : entry.message;
    return `${String(entry.path[0])}: ${why}`;
  },
});

export const notifierSchema = z.discriminatedUnion(
  'type',
  [
    z.strictObject({
      type: z.literal('webhook'),
      name: z.string().optional(),
      url,
      secret_env: secretEnv.optional(),
    }),
    z.strictObject({ type: z.literal('slack'), name: z.string().optional(), url }),
    z.strictObject({ type: z.literal('teams'), name: z.string().optional(), url }),
    z.strictObject({
      type: z.literal('pagerduty'),
      name: z.string().optional(),
      routing_key_env: secretEnv,
      url: url.default('https://events.pagerduty.com/v2/enqueue'),
      severity: severitySetting.optional(),
    }),
    z.strictObject({
      type: z.literal('alertmanager'),
      name: z.string().optional(),
      url,
      resend_interval: durationMs
        .refine((ms) => ms >= 1000, { error: 'must be at least 1s (Alertmanager expects 30s to 3m)' })
        .optional(),
    }),
  ],
  { error: 'expected type: webhook, slack, teams, pagerduty or alertmanager' },
);

/**
 * What the collector calls each notifier, in logs and in the store's outbox (it keys pending
 * deliveries): its `name`; without one, its type when it is the only unnamed notifier of that type,
 * else its type and URL. Never the settings alone, so a corrected URL keeps the pending deliveries.
 */
export function notifierNames(notify: readonly NotifierConfig[]): string[] {
  const unnamed = (type: string) => notify.filter((n) => n.name === undefined && n.type === type).length;
  return notify.map((n) => n.name ?? (unnamed(n.type) === 1 ? n.type : `${n.type}:${n.url}`));
}

/** No two notifiers share a name: the outbox would deliver to only one of them. */
const notifyList = z
  .array(notifierSchema)
  .default([])
  .superRefine((notify, ctx) => {
    const names = notifierNames(notify);
    names.forEach((name, i) => {
      const first = names.indexOf(name);
      if (first === i) return;
      ctx.addIssue({
        code: 'custom',
        path: [i, ...(notify[i]?.name !== undefined ? ['name'] : [])],
        message: `"${name}" is already the name of notify[${first}]; give each notifier its own name`,
      });
    });
  });

/**
 * Where the collector copies what it stores. InfluxDB 2.x and 3.x (and VictoriaMetrics) take version 2:
 * url, org, bucket and a token from an environment variable; InfluxDB 1.x takes version 1: db, an
 * optional retention policy and user/password. Both are written as line protocol (see collector/sinks/).
 */
export const influxOutputSchema = z
  .strictObject({
    type: z.literal('influxdb'),
    /** Names the output in logs and in the store's cursor; defaults to the URL and database/bucket. */
    name: z.string().min(1).optional(),
    url,
    version: z
      .union([z.literal(1), z.literal(2)], {
        error: 'expected 1 (InfluxDB 1.x: db, retention_policy) or 2 (InfluxDB 2.x/3.x: org, bucket)',
      })
      .default(2),
    db: z.string().min(1).optional(),
    retention_policy: z.string().min(1).optional(),
    username: z.string().min(1).optional(),
    password_env: secretEnv.optional(),
    org: z.string().optional(),
    bucket: z.string().min(1).optional(),
    token_env: secretEnv.optional(),
    /** Rows read from the store per write request (each row is one to three points). */
    batch_size: z.number().int().min(1).max(100_000).default(1000),
    /** How often the sink looks for new rows in the store. */
    flush_interval: durationMs.default(5000),
    /** HTTP timeout of one write. */
    timeout: durationMs.default(10_000),
  })
  .superRefine((o, ctx) => {
    const need = (key: string, why: string) =>
      ctx.addIssue({ code: 'custom', path: [key], message: `missing: ${why}` });
    const never = (key: string, why: string) => ctx.addIssue({ code: 'custom', path: [key], message: why });
    if (o.version === 1) {
      if (o.db === undefined) need('db', 'the InfluxDB 1.x database to write to (version: 1)');
      if (o.bucket !== undefined) never('bucket', 'version 1 writes to `db`; bucket is for version 2');
      if (o.token_env !== undefined)
        never(
          'token_env',
          'version 1 authenticates with username and password_env; token_env is for version 2',
        );
      if ((o.username === undefined) !== (o.password_env === undefined))
        need(
          o.username === undefined ? 'username' : 'password_env',
          'give both username and password_env, or neither',
        );
    } else {
      if (o.bucket === undefined) need('bucket', 'the bucket (InfluxDB 2.x/3.x) to write to (version: 2)');
      for (const key of ['db', 'retention_policy', 'username', 'password_env'] as const)
        if (o[key] !== undefined)
          never(key, `${key} is for version 1; version 2 uses org, bucket and token_env`);
    }
  });

export const outputSchema = z.discriminatedUnion('type', [influxOutputSchema], {
  error: 'expected type: influxdb',
});

/**
 * What an output is called in logs and in the store's sink cursors: its `name`, or its URL with the
 * database (and retention policy) or bucket. Two outputs may not share one (the load checks it).
 */
export function outputName(o: InfluxOutputConfig): string {
  if (o.name !== undefined) return o.name;
  const where =
    o.version === 1
      ? `db=${o.db}${o.retention_policy ? `&rp=${o.retention_policy}` : ''}`
      : `bucket=${o.bucket}`;
  return `influxdb:${o.url.replace(/\/+$/, '')}?${where}`;
}

/** Top-level sections, validated one at a time so that one broken section does not hide the others. */
export const sectionSchemas = {
  thresholds: thresholdsSchema.prefault({}),
  sites: z
    .record(siteName, siteSchema, { error: 'expected a map of site name → {address: …}' })
    .refine((s) => Object.keys(s).length > 0, { error: 'at least one site is needed' }),
  clusters: z
    .record(z.string(), clusterSchema, { error: 'expected a map of cluster name → {subclusters: …}' })
    .default({}),
  intercluster: z
    .array(
      z.tuple([z.string(), z.string()], { error: 'expected a pair of cluster names, e.g. [east, west]' }),
    )
    .default([]),
  links: z.array(linkOverrideSchema).default([]),
  probes: probesSchema.prefault({}),
  alerts: alertsSchema.prefault({}),
  notify: notifyList,
  collector: collectorSchema.prefault({}),
  outputs: z.array(outputSchema).default([]),
} as const;

// The model's types are written out by hand (shared/topology/settings.ts), so the schema is checked
// against them: each line stops compiling when what the schema produces and what the model expects
// drift apart, in either direction.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Check<T extends true> = T;
export type SchemaMatchesModel = [
  Check<Same<z.output<typeof thresholdsSchema>, Thresholds>>,
  Check<Same<z.output<typeof siteSchema>, SiteConfig>>,
  Check<Same<z.output<typeof linkOverrideSchema>, LinkOverride>>,
  Check<Same<z.output<typeof probesSchema>, ProbesConfig>>,
  Check<Same<z.output<typeof alertsSchema>, AlertsConfig>>,
  Check<Same<z.output<typeof notifierSchema>, NotifierConfig>>,
  Check<Same<z.output<typeof collectorSchema>, CollectorConfig>>,
  Check<Same<z.output<typeof credentialSchema>, CredentialConfig>>,
  Check<Same<z.output<typeof influxOutputSchema>, InfluxOutputConfig>>,
  Check<Same<z.output<typeof outputSchema>, OutputConfig>>,
];

/** Every key name the schema knows, for "did you mean" hints on unknown keys. */
export function allKeys(): Set<string> {
  const keys = new Set<string>();
  const seen = new Set<unknown>();
  const walk = (schema: unknown): void => {
    if (!schema || typeof schema !== 'object' || seen.has(schema)) return;
    seen.add(schema);
    const def = (schema as { _zod?: { def?: Record<string, unknown> } })._zod?.def;
    if (!def) return;
    if (def.type === 'object') {
      for (const [k, v] of Object.entries(def.shape as Record<string, unknown>)) {
        keys.add(k);
        walk(v);
      }
    }
    for (const field of ['innerType', 'valueType', 'element', 'in', 'out']) walk(def[field]);
    for (const field of ['options', 'items'])
      for (const o of (def[field] as unknown[] | undefined) ?? []) walk(o);
  };
  for (const s of Object.values(sectionSchemas)) walk(s);
  return keys;
}
