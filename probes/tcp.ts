// TCP connect time: from connect() to the SYN-ACK's arrival (the 'connect' event), one new connection
// per probe, closed at once with a reset so probing leaves no TIME_WAIT sockets behind.
//
// A refused connection (RST) comes back over the path, but it means nothing listens on the port, or a
// firewall answers for it: its time is not the service's round trip. Against a `tcp_port` that is not a
// wanwatch reflector (a service the far end already runs) a refused probe counts as lost: the service
// the topology names is all this method measures there, and it did not answer. When every probe of such
// a round is refused the round's error is `refused`; a mix of refused and answered probes is an
// ordinary round with loss. Against a wanwatch reflector (`target.reflector`, the default port), a
// refusal is not measured (probes/round.ts): the path answered, and the reflector is not running, e.g.
// while its agent restarts; a round all refused is a `refused` Result without figures, which no link
// rule reads. Timeouts are lost probes; a round with none answered is a `timeout` (or `unreachable`,
// whichever most probes had).
//
// A probe waits at most 1 s for the SYN-ACK, whatever its timeout: when the SYN or the SYN-ACK is lost,
// the kernel retransmits after its initial retransmission timeout (1 s on Linux, RFC 6298), and a
// connection made then would time the retransmission timer, not the path. Counted as answered, such
// probes hid the loss (0.2 % measured at 5 % configured, in bench/accuracy.ts) and put ~1 s outliers into
// p95; counted as lost, TCP loss matches ICMP and UDP loss.
//
// The time of a probe is the kernel's: right after the handshake, TCP_INFO's RTT is the one sample the
// kernel took, from the SYN's transmission to the SYN-ACK's arrival, in microseconds (read through the
// timestamps addon, probes/timestamps.ts). Timed in JavaScript instead (the addon missing), the probe
// also counted the socket's creation, Node's deferred connect and the process's wake-up on the SYN-ACK:
// 0.2 to 0.6 ms more (docs/measuring.md, "Where the time goes").
import { Socket } from 'node:net';
import { DEFAULT_REFLECTOR_PORT } from '../shared/ports.ts';
import type { RttResult } from '../shared/result.ts';
import {
  checkRoundOptions,
  errnoCode,
  errorMessage,
  failedRound,
  nowMs,
  type ProbeOutcome,
  refusedByReflector,
  resolveHost,
  roundResult,
  sendSpaced,
  targetLabel,
} from './round.ts';
import { kernelTimestamps } from './timestamps.ts';
import type { RttProbe } from './types.ts';

/** The kernel's handshake RTT of a just-connected socket, ms; undefined when it cannot be read. */
function kernelHandshakeMs(socket: Socket): number | undefined {
  const { native } = kernelTimestamps();
  const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
  if (!native || typeof fd !== 'number' || fd < 0) return undefined;
  try {
    const [rtt_us, retransmits] = native.tcpRtt(fd);
    // A retransmitted SYN gives no sample (Karn); the 1 s cap makes that rare, but then time it here.
    return rtt_us > 0 && retransmits === 0 ? rtt_us / 1000 : undefined;
  } catch {
    return undefined;
  }
}

/** Linux's initial SYN retransmission timeout (TCP_TIMEOUT_INIT): the longest a probe waits for a SYN-ACK. */
export const TCP_SYN_RETRANSMIT_MS = 1000;

function connectOnce(
  address: string,
  port: number,
  timeout_ms: number,
  reflector: boolean,
): Promise<ProbeOutcome> {
  const where = targetLabel(address, port);
  const wait_ms = Math.min(timeout_ms, TCP_SYN_RETRANSMIT_MS);
  const why =
    wait_ms < timeout_ms
      ? ` (a TCP probe waits at most ${TCP_SYN_RETRANSMIT_MS} ms: after that the kernel retransmits the SYN, and the time would be its timer's, not the path's)`
      : '';
  return new Promise((resolve) => {
    // Without the addon, the start is taken once the socket exists, just before connect() (whose system
    // call Node makes on the next tick of the loop).
    const socket = new Socket();
    const t0 = nowMs();
    socket.connect({ host: address, port });
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({
        ok: false,
        code: 'timeout',
        message: `no answer to a TCP connect to ${where} within ${wait_ms} ms${why}`,
      });
    }, wait_ms);
    socket.once('connect', () => {
      const js_ms = nowMs() - t0;
      const rtt_ms = kernelHandshakeMs(socket) ?? js_ms;
      clearTimeout(timer);
      socket.resetAndDestroy();
      resolve({ ok: true, rtt_ms });
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      socket.destroy();
      const code = errnoCode(err);
      if (code === 'ECONNREFUSED' && reflector)
        resolve(
          refusedByReflector(
            `${where} refused the connection: no reflector listens there (its agent is restarting or stopped, or \`wanwatch reflector\` is not running on that host); a refusal is not loss`,
          ),
        );
      else if (code === 'ECONNREFUSED')
        resolve({
          ok: false,
          code: 'refused',
          message: `${where} refused the connection: nothing listens on TCP port ${port} (run \`wanwatch reflector\` there or pick another port)`,
        });
      else if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH')
        resolve({
          ok: false,
          code: 'unreachable',
          message: `${where} is unreachable (${code}): check the route to it`,
        });
      else if (code === 'ETIMEDOUT')
        resolve({ ok: false, code: 'timeout', message: `TCP connect to ${where} timed out` });
      else
        resolve({
          ok: false,
          code: 'internal',
          message: `TCP connect to ${where} failed: ${errorMessage(err)}`,
        });
    });
  });
}

export const tcpProbe: RttProbe = async (target, opts): Promise<RttResult> => {
  const time_ms = Date.now();
  const port = target.port ?? DEFAULT_REFLECTOR_PORT;
  const bad = checkRoundOptions(opts);
  if (bad) return failedRound('tcp', target, target.host, time_ms, 'internal', `tcp probe: ${bad}`);
  if (!Number.isInteger(port) || port < 1 || port > 65_535)
    return failedRound(
      'tcp',
      target,
      target.host,
      time_ms,
      'internal',
      `tcp probe: port must be 1–65535 (got ${port})`,
    );
  let address: string;
  try {
    address = (await resolveHost(target.host)).address;
  } catch (err) {
    return failedRound(
      'tcp',
      target,
      targetLabel(target.host, port),
      time_ms,
      'dns',
      `cannot resolve "${target.host}": ${errorMessage(err)}`,
    );
  }
  const t0 = nowMs();
  const outcomes = await sendSpaced(opts.count, opts.spacing_ms, opts.signal, () =>
    connectOnce(address, port, opts.timeout_ms, target.reflector === true),
  );
  return roundResult({
    method: 'tcp',
    target,
    label: targetLabel(address, port),
    time_ms,
    duration_ms: nowMs() - t0,
    outcomes,
  });
};
