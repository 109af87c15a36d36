// Direct mode of `wanwatch qualify --to HOST`: this host measures one link towards a `wanwatch reflector`
// (or an agent's responder) with the real probes of qualify/measure.ts, run by qualify/run.ts, and judges
// it against the requirement its options give (qualify/verdict.ts). No collector is involved.
import type { RttStatistic } from '../shared/config/schema.ts';
import { instruments, type PeerEndpoint, rttTarget } from './measure.ts';
import { type LinkReport, linkReport } from './report/model.ts';
import { qualifyLink, type RunSettings } from './run.ts';
import type { ProgressPrinter } from './session.ts';
import { judgeLink, type LinkRequirementInput } from './verdict.ts';

/** What the link must carry, as direct mode is told it. */
export interface DirectNeed {
  subclusters: number;
  mbps_per_subcluster: number;
  extra_mbps: number;
  /** Given outright (--required-mbps), instead of subclusters × per subcluster + extra. */
  required_mbps?: number;
  max_rtt_ms: number;
  max_loss_percent: number;
  rtt_statistic: RttStatistic;
}

/** The requirement of the link from `from` (this host) to `to`, with how its bandwidth was derived. */
export function directRequirement(from: string, to: string, need: DirectNeed): LinkRequirementInput {
  const n = need.subclusters;
  const derived = n * need.mbps_per_subcluster + need.extra_mbps;
  const extra = need.extra_mbps > 0 ? ` + ${need.extra_mbps} Mbps extra` : '';
  return {
    from,
    to,
    subclusters: [],
    subcluster_count: n,
    required_mbps: need.required_mbps ?? derived,
    max_rtt_ms: need.max_rtt_ms,
    max_loss_percent: need.max_loss_percent,
    rtt_statistic: need.rtt_statistic,
    derivation:
      need.required_mbps === undefined
        ? `${n} × ${need.mbps_per_subcluster} Mbps${extra} = ${derived} Mbps`
        : `${need.required_mbps} Mbps set by --required-mbps`,
  };
}

export interface DirectRun extends RunSettings {
  /** From this host (`from`, the name in the report) to the far end (`to`, its address or name). */
  link: LinkRequirementInput;
  /** The far end's reflector (UDP echo, and TCP for the tcp method) and iperf3 server. */
  reflector_port: number;
  iperf3_port: number;
  signal: AbortSignal;
  progress?: ProgressPrinter;
}

/** Measures the link for `duration_ms` (less when `signal` aborts) and judges it: a one-link report. */
export async function qualifyDirect(run: DirectRun): Promise<LinkReport[]> {
  const { link } = run;
  const peer: PeerEndpoint = {
    src: link.from,
    dst: link.to,
    host: link.to,
    reflector_port: run.reflector_port,
    iperf3_port: run.iperf3_port,
    method: run.method,
  };
  const m = await qualifyLink(
    {
      target: rttTarget(peer),
      duration_ms: run.duration_ms,
      test_duration_ms: run.test_duration_ms,
      required_bps: link.required_mbps * 1e6,
      round: {
        count: run.count,
        spacing_ms: run.spacing_ms,
        timeout_ms: Math.max(1000, link.max_rtt_ms * 4),
      },
      skip_throughput: run.skip_throughput,
      signal: run.signal,
    },
    instruments(peer),
    (p) => run.progress?.update(`${link.from} → ${link.to}`, p),
  );
  run.progress?.done();
  return [linkReport(judgeLink(link, m), m)];
}
