// The HTTP API between agents and the collector (and the read API for people and tools).
// Every body is validated with these schemas at the edge; inside, the types are trusted.
//
//   GET  /api/v1/plan?site=S       agent → collector  AgentPlan          (Bearer token of site S)
//   POST /api/v1/results           agent → collector  ResultBatch → IngestReply
//   POST /api/v1/heartbeat         agent → collector  Heartbeat
//   GET  /api/v1/links | /alerts | /agents | /outputs  read API (JSON; a viewer or operator credential)
//   GET  /healthz                                     liveness
import { z } from 'zod';
import { alertCauseSchema } from './alerts-wire.ts';
import { ERROR_CODES, resultSchema, rttResultSchema, throughputResultSchema } from './result.ts';

export const API_PREFIX = '/api/v1';
/** Largest request body the collector accepts. */
export const MAX_BODY_BYTES = 4 * 1024 * 1024;
/** Most results in one batch. */
export const MAX_BATCH_RESULTS = 5000;

export const resultBatchSchema = z.strictObject({
  /** UUID chosen by the agent; a resent batch (same id) is stored once. */
  batch_id: z.uuid(),
  site: z.string().min(1).max(200),
  results: z.array(resultSchema).max(MAX_BATCH_RESULTS),
});
export type ResultBatch = z.infer<typeof resultBatchSchema>;

export const ingestReplySchema = z.strictObject({
  stored: z.number().int().min(0),
  duplicates: z.number().int().min(0),
});
export type IngestReply = z.infer<typeof ingestReplySchema>;

/** The agent's responder: is each part listening, and if not (or when it last failed), why. */
export const responderHealthSchema = z.strictObject({
  reflector: z.strictObject({ up: z.boolean(), last_error: z.string().max(2000).nullable() }),
  iperf3: z.strictObject({
    up: z.boolean(),
    last_error: z.string().max(2000).nullable(),
    /** Times the iperf3 server was started again after it died or failed to start. */
    restarts: z.number().int().min(0),
  }),
});
export type ResponderHealth = z.infer<typeof responderHealthSchema>;

export const heartbeatSchema = z.strictObject({
  site: z.string().min(1).max(200),
  version: z.string().max(50),
  time_ms: z.number().int().min(0),
  started_at_ms: z.number().int().min(0),
  plan_version: z.string().max(100).nullable(),
  /** Results waiting in the agent's disk spool, and how many it has dropped past the spool's bound. */
  spool_queued: z.number().int().min(0),
  spool_dropped: z.number().int().min(0),
  /**
   * Measurements that could not run since the last heartbeat (permission_denied, tool_missing, internal
   * Results) and the agent's own failures (a crashed job, a responder that could not start); not what the
   * link did.
   */
  errors: z.number().int().min(0),
  // The fields below are optional: agents from before they existed still send valid heartbeats.
  /** Every error Result since the last heartbeat by its code, link failures (timeout, …) included. */
  errors_by_code: z.partialRecord(z.enum(ERROR_CODES), z.number().int().min(0)).optional(),
  /** Why the spool cannot be written now (results are then kept in a bounded memory queue); null when it can. */
  spool_error: z.string().max(2000).nullable().optional(),
  /** The site's responder, as its peers meet it. */
  responder: responderHealthSchema.optional(),
  /** Random per agent process, chosen at its start: two at once for one site are a double agent. */
  instance: z.string().min(1).max(100).optional(),
});
export type Heartbeat = z.infer<typeof heartbeatSchema>;

export const peerSchema = z.strictObject({
  site: z.string(),
  address: z.string(),
  reflector_port: z.number().int(),
  iperf3_port: z.number().int(),
});
export type Peer = z.infer<typeof peerSchema>;

/**
 * One throughput test in the collector's schedule. The schedule repeats every `cycle_ms`, anchored at
 * the Unix epoch: the test starts whenever (now mod cycle_ms) = offset_ms. No two slots that share a
 * site overlap, because an iperf3 server serves one test at a time.
 */
export const throughputSlotSchema = z.strictObject({
  /** The site that runs the iperf3 client; `peer` runs the server. */
  client: z.string(),
  peer: z.string(),
  offset_ms: z.number().int().min(0),
  /** Time the slot reserves: the test (both directions when reverse) plus a margin. */
  length_ms: z.number().int().min(0),
  /** The link's required rate, for UDP tests at that rate (-u -b). */
  required_bps: z.number().min(0),
});
export type ThroughputSlot = z.infer<typeof throughputSlotSchema>;

export const agentPlanSchema = z.strictObject({
  site: z.string(),
  /** Changes whenever anything in the plan changes; agents re-plan when it does. */
  plan_version: z.string(),
  /** The agent's own responder (UDP reflector and iperf3 server) binds here. */
  responder: z.strictObject({
    address: z.string(),
    reflector_port: z.number().int(),
    iperf3_port: z.number().int(),
  }),
  heartbeat: z.strictObject({
    interval_ms: z.number().int().positive(),
    timeout_ms: z.number().int().positive(),
  }),
  /** How often the agent asks for its plan again. */
  plan_refresh_ms: z.number().int().positive(),
  rtt: z.strictObject({
    method: z.enum(['icmp', 'tcp', 'udp']),
    interval_ms: z.number().int().positive(),
    count: z.number().int().positive(),
    spacing_ms: z.number().int().min(0),
    timeout_ms: z.number().int().positive(),
    tcp_port: z.number().int().nullable(),
  }),
  peers: z.array(peerSchema),
  throughput: z.strictObject({
    enabled: z.boolean(),
    cycle_ms: z.number().int().positive(),
    duration_ms: z.number().int().positive(),
    omit_ms: z.number().int().min(0),
    protocol: z.enum(['tcp', 'udp']),
    streams: z.number().int().positive(),
    reverse: z.boolean(),
    /**
     * TCP tests send at most each slot's required_bps × this (iperf3 -b); null or absent (collectors
     * before it): as fast as the link goes.
     */
    rate_factor: z.number().positive().nullable().optional(),
    /** Only the slots this agent takes part in (as client or as server). */
    slots: z.array(throughputSlotSchema),
  }),
});
export type AgentPlan = z.infer<typeof agentPlanSchema>;

/** Error body of every 4xx/5xx reply. */
export const errorReplySchema = z.strictObject({
  error: z.string(),
  details: z.array(z.string()).optional(),
});
export type ErrorReply = z.infer<typeof errorReplySchema>;

/** Reply to POST /api/v1/heartbeat: the plan_version the agent should be running. */
export const heartbeatReplySchema = z.strictObject({
  ok: z.literal(true),
  /** null when the site is no longer in the topology. */
  plan_version: z.string().nullable(),
  /**
   * The collector's clock when it answered, and how far from it an agent's may be before its results
   * are refused (collector.max_clock_skew): the agent logs an error when its clock is off. Absent from
   * collectors before them.
   */
  time_ms: z.number().optional(),
  max_clock_skew_ms: z.number().int().positive().optional(),
});
export type HeartbeatReply = z.infer<typeof heartbeatReplySchema>;
// ---- Mesh qualification (`wanwatch qualify -c FILE --collector URL`) ----------------------------------
//   POST   /api/v1/qualifications          operator → collector  QualificationRequest → Qualification
//   GET    /api/v1/qualifications/:id      reader → collector    Qualification (progress and measurements)
//   DELETE /api/v1/qualifications/:id      operator → collector  stops it; agents report what they have
//   GET    /api/v1/tasks?site=S            agent → collector     {tasks: QualifyTask[]} ready to run now
//   POST   /api/v1/tasks/:id/progress      agent → collector     TaskProgress → {cancelled}
//   POST   /api/v1/tasks/:id/result        agent → collector     TaskResult

/** What one link's qualification measured (the input of the verdict). */
export const linkMeasurementsSchema = z.strictObject({
  /** RTT rounds over the whole run; `loaded` marks rounds that overlapped a throughput test. */
  rounds: z.array(z.strictObject({ result: rttResultSchema, loaded: z.boolean() })).max(100_000),
  tcp: z.array(throughputResultSchema).max(16),
  udp: z.array(throughputResultSchema).max(16),
  /** Stopped before the end (Ctrl-C, cancelled). */
  interrupted: z.boolean(),
});
export type LinkMeasurements = z.infer<typeof linkMeasurementsSchema>;

export const qualificationRequestSchema = z.strictObject({
  /** Links as [siteA, siteB]; null for every link of the topology. */
  links: z.array(z.tuple([z.string(), z.string()])).nullable(),
  duration_ms: z
    .number()
    .int()
    .min(1000)
    .max(24 * 3_600_000),
  test_duration_ms: z.number().int().min(1000).max(3_600_000),
  rtt: z.strictObject({
    method: z.enum(['icmp', 'tcp', 'udp']),
    count: z.number().int().min(1).max(1000),
    spacing_ms: z.number().int().min(0).max(60_000),
    timeout_ms: z.number().int().min(1).max(60_000),
  }),
  skip_throughput: z.boolean(),
});
export type QualificationRequest = z.infer<typeof qualificationRequestSchema>;

export const taskProgressSchema = z.strictObject({
  elapsed_ms: z.number().min(0),
  remaining_ms: z.number().min(0),
  phase: z.string().max(200),
  rounds: z.number().int().min(0),
  last_rtt_ms: z.number().min(0).nullable(),
});
export type TaskProgress = z.infer<typeof taskProgressSchema>;

export const qualifyTaskSchema = z.strictObject({
  id: z.string(),
  qualification_id: z.string(),
  /** The site that measures (runs the probes and the iperf3 client) … */
  site: z.string(),
  /** … towards this peer (its reflector and iperf3 server). */
  peer: peerSchema,
  required_bps: z.number().min(0),
  duration_ms: z.number().int(),
  test_duration_ms: z.number().int(),
  /** The request's RTT settings, plus the topology's `probes.rtt.tcp_port` (null: the reflector's port). */
  rtt: qualificationRequestSchema.shape.rtt.extend({ tcp_port: z.number().int().nullable() }),
  skip_throughput: z.boolean(),
});
export type QualifyTask = z.infer<typeof qualifyTaskSchema>;

export const taskResultSchema = z.strictObject({
  measurements: linkMeasurementsSchema.nullable(),
  /** Set when the task could not run at all. */
  error: z.string().max(2000).nullable(),
});
export type TaskResult = z.infer<typeof taskResultSchema>;

export const TASK_STATES = ['waiting', 'running', 'done', 'failed', 'cancelled'] as const;

export const qualificationSchema = z.strictObject({
  id: z.string(),
  state: z.enum(['running', 'done', 'cancelled']),
  created_at_ms: z.number(),
  /** When its last task finished; null while one runs (absent from collectors before it). */
  finished_at_ms: z.number().nullable().optional(),
  /**
   * Sites whose monitoring throughput tests the collector holds while the qualification runs there, so
   * that no monitoring test shares a site with it (absent from collectors before it).
   */
  monitoring_paused: z.array(z.string()).optional(),
  tasks: z.array(
    z.strictObject({
      id: z.string(),
      site: z.string(),
      peer: z.string(),
      /** Tasks of one round run together; no site is in two tasks of a round. */
      round: z.number().int().min(0),
      state: z.enum(TASK_STATES),
      progress: taskProgressSchema.nullable(),
      measurements: linkMeasurementsSchema.nullable(),
      error: z.string().nullable(),
    }),
  ),
});
export type Qualification = z.infer<typeof qualificationSchema>;

// ---- The read API (people, `wanwatch status`, other tools; a viewer or operator credential) -----------
//   GET /api/v1/links    LinksReply    every link and direction against its requirement, with its alerts
//   GET /api/v1/alerts   AlertsReply   pending and firing alerts, and the latest alert events
//   GET /api/v1/agents   AgentsReply   each site's agent as its heartbeats show it
// The alert event is the one the collector stores, notifies and copies to its outputs.

// The alert rules, the alert event and the links and alerts replies: shared/alerts-wire.ts.
export * from './alerts-wire.ts';

/** An agent refused for its version: which it is, why, and since when (collector/api/versions.ts). */
export const versionRefusalSchema = z.strictObject({
  version: z.string(),
  verdict: z.enum(['too_old', 'too_new']),
  collector_version: z.string(),
  /** What the agent was told: both versions and what to upgrade. */
  message: z.string(),
  since_ms: z.number(),
  last_ms: z.number(),
});
export type VersionRefusal = z.infer<typeof versionRefusalSchema>;

export const agentJsonSchema = z.strictObject({
  site: z.string(),
  /** Heard within the heartbeat interval plus its timeout. */
  up: z.boolean(),
  last_heartbeat_ms: z.number().nullable(),
  /** Never heard since the store was created: counted from the collector's start. */
  silent_for_ms: z.number(),
  version: z.string().nullable(),
  started_at_ms: z.number().nullable(),
  plan_version: z.string().nullable(),
  /** The agent runs the plan the collector holds for it now. */
  plan_current: z.boolean(),
  spool_queued: z.number().nullable(),
  spool_dropped: z.number().nullable(),
  errors: z.number().nullable(),
  /** From the latest heartbeat; null when it did not carry them (never heard, or an older agent). */
  errors_by_code: heartbeatSchema.shape.errors_by_code.unwrap().nullable(),
  spool_error: z.string().nullable(),
  responder: responderHealthSchema.nullable(),
  /** This site's measurement_failing alerts that are pending or firing: what keeps it from measuring. */
  measurement_failing: z.array(
    alertCauseSchema.extend({ status: z.enum(['pending', 'firing']), since_ms: z.number().nullable() }),
  ),
  /**
   * Two agent processes send heartbeats for this site at once (one token, two processes): their results
   * are refused (503) until one stops. Null when there is one; absent from collectors before it.
   */
  double: z
    .strictObject({
      since_ms: z.number(),
      instances: z.array(
        z.strictObject({
          instance: z.string(),
          started_at_ms: z.number(),
          last_heartbeat_ms: z.number(),
          address: z.string().nullable(),
        }),
      ),
    })
    .nullable()
    .optional(),
  /**
   * The collector refuses this site's agent for its version (shared/version.ts): the latest refusal,
   * null once it is taken again; absent from collectors before it.
   */
  version_refused: versionRefusalSchema.nullable().optional(),
});
export type AgentJson = z.infer<typeof agentJsonSchema>;

export const agentsReplySchema = z.strictObject({ agents: z.array(agentJsonSchema) });
export type AgentsReply = z.infer<typeof agentsReplySchema>;
