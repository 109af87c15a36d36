// The topology's settings: the sections that reach the model as the file gives them (with defaults
// filled in, durations in milliseconds). Written out here rather than inferred from the file's schema so
// that the model depends on nothing in shared/config/; shared/config/schema.ts fails to compile when
// its output and these types disagree.

export const RTT_STATISTICS = ['median', 'p95', 'max', 'mean'] as const;
export type RttStatistic = (typeof RTT_STATISTICS)[number];

export const PROBE_METHODS = ['icmp', 'tcp', 'udp'] as const;
export type ProbeMethod = (typeof PROBE_METHODS)[number];

export interface Thresholds {
  max_rtt_ms: number;
  mbps_per_subcluster: number;
  max_loss_percent: number;
  rtt_statistic: RttStatistic;
}

export interface SiteConfig {
  /** IP address or host name where peers reach this site's agent. */
  address: string;
  /** Name of an environment variable that holds this site's agent token. */
  token_env?: string | undefined;
  /** Hex SHA-256 of this site's agent token, for files that must not hold secrets. */
  token_sha256?: string | undefined;
  reflector_port: number;
  iperf3_port: number;
}

/** A `links[]` entry: overrides the requirement or the limits of the link between two sites. */
export interface LinkOverride {
  between: [string, string];
  extra_mbps?: number | undefined;
  required_mbps?: number | undefined;
  max_rtt_ms?: number | undefined;
  max_loss_percent?: number | undefined;
}

export interface ProbesConfig {
  rtt: {
    method: ProbeMethod;
    interval: number;
    count: number;
    spacing: number;
    timeout: number;
    /** Port for the tcp method (the peer's TCP listener). */
    tcp_port?: number | undefined;
  };
  throughput: {
    enabled: boolean;
    interval: number;
    duration: number;
    protocol: 'tcp' | 'udp';
    streams: number;
    reverse: boolean;
    /** Milliseconds of TCP slow start left out of the result (iperf3 -O). */
    omit: number;
    /**
     * `required`: each TCP test sends at most the link's required rate plus `margin_percent` (iperf3 -b),
     * proving the requirement without filling the link; `full`: as fast as the link goes.
     */
    rate: 'required' | 'full';
    margin_percent: number;
  };
  heartbeat: {
    interval: number;
    timeout: number;
  };
}

export interface AlertsConfig {
  /** How long a breach must last before it fires. */
  for: number;
  /** How long recovery must last before it resolves. */
  clear_for: number;
  repeat_interval: number;
  /** Window over which the RTT statistic and loss are computed. */
  window: number;
  send_resolved: boolean;
  /** Failed throughput tests in a row on a link direction that raise throughput_failing. */
  throughput_failures: number;
}

export const PAGERDUTY_SEVERITIES = ['critical', 'error', 'warning', 'info'] as const;
export type PagerDutySeverity = (typeof PAGERDUTY_SEVERITIES)[number];

export type NotifierConfig =
  | { type: 'webhook'; name?: string | undefined; url: string; secret_env?: string | undefined }
  | { type: 'slack'; name?: string | undefined; url: string }
  | { type: 'teams'; name?: string | undefined; url: string }
  | {
      type: 'pagerduty';
      name?: string | undefined;
      routing_key_env: string;
      url: string;
      /**
       * One severity for every rule, or per rule ({link_down: error, default: warning}); rules not
       * named keep their own (critical for link_down, agent_down, measurement_failing), `default` the rest.
       */
      severity?: PagerDutySeverity | Record<string, PagerDutySeverity> | undefined;
    }
  | {
      type: 'alertmanager';
      name?: string | undefined;
      url: string;
      /** How often every firing alert is sent again (Alertmanager keeps alerts only in memory); 60 s. */
      resend_interval?: number | undefined;
    };

export const ROLES = ['viewer', 'operator'] as const;
/** viewer: the read API; operator: reads too, and whatever sends traffic or changes state. */
export type Role = (typeof ROLES)[number];

/** A person's or a tool's credential for the collector's API (agents use their site's token). */
export interface CredentialConfig {
  /** Names the holder in the collector's logs (who started or stopped a qualification). */
  name: string;
  role: Role;
  /** Name of an environment variable of the collector that holds the token. */
  token_env?: string | undefined;
  /** Hex SHA-256 of the token, for files that must not hold secrets. */
  token_sha256?: string | undefined;
}

export interface CollectorConfig {
  listen: string;
  data_dir: string;
  /** `client_ca`: agents must present a certificate it signed, named after their site (mTLS). */
  tls?: { cert: string; key: string; client_ca?: string | undefined } | undefined;
  retention: number;
  /** Reads (links, alerts, agents, outputs, a qualification's progress) without a credential. */
  public_read: boolean;
  credentials: CredentialConfig[];
  /** How far a result's or heartbeat's time_ms may be ahead of the collector's clock (heartbeats: either way). */
  max_clock_skew: number;
  /** Caps on what a mesh qualification may ask for: each link's duration and each throughput test's. */
  qualifications: { max_duration: number; max_test_duration: number };
}

/**
 * A copy of the store in InfluxDB. Version 2 (InfluxDB 2.x/3.x, VictoriaMetrics) writes to org and
 * bucket with a token; version 1 writes to db and an optional retention policy with user and password.
 */
export interface InfluxOutputConfig {
  type: 'influxdb';
  /** Names the output in logs and in the store's cursor; defaults to the URL and database/bucket. */
  name?: string | undefined;
  url: string;
  version: 1 | 2;
  db?: string | undefined;
  retention_policy?: string | undefined;
  username?: string | undefined;
  password_env?: string | undefined;
  org?: string | undefined;
  bucket?: string | undefined;
  token_env?: string | undefined;
  /** Rows read from the store per write request (each row is one to three points). */
  batch_size: number;
  /** How often the sink looks for new rows in the store. */
  flush_interval: number;
  /** HTTP timeout of one write. */
  timeout: number;
}

export type OutputConfig = InfluxOutputConfig;
