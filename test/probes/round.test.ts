// How a round counts its probes (probes/round.ts roundResult): answered and lost probes are the round;
// probes that were not measured (cancelled by shutdown, refused by a wanwatch reflector) are left out,
// neither sent nor lost; a round of which no probe was measured is a Result without figures.
import { describe, expect, it } from 'vitest';
import { CANCELLED, type ProbeOutcome, refusedByReflector, roundResult } from '../../probes/round.ts';
import { rttResultSchema } from '../../shared/result.ts';

const ok = (rtt_ms: number): ProbeOutcome => ({ ok: true, rtt_ms });
const lost: ProbeOutcome = { ok: false, code: 'timeout', message: 'no echo reply within 500 ms' };
const refused = refusedByReflector('127.0.0.2:4789 answered "port unreachable": no reflector listens there');
/** A refusal by a port that is not a reflector's (a tcp_port): a lost probe. */
const refusedService: ProbeOutcome = {
  ok: false,
  code: 'refused',
  message: '127.0.0.2:22 refused the connection: nothing listens on TCP port 22',
};

const round = (...outcomes: ProbeOutcome[]) => {
  const r = roundResult({
    method: 'udp',
    target: { src: 'a', dst: 'b', host: '127.0.0.2', port: 4789 },
    label: '127.0.0.2:4789',
    time_ms: 1_900_000_000_000,
    duration_ms: 1000,
    outcomes,
  });
  expect(rttResultSchema.parse(r)).toEqual(r);
  return r;
};

describe('a round with probes refused by a reflector (its agent restarting)', () => {
  it('leaves them out: neither sent nor lost', () => {
    const r = round(refused, refused, ok(1), ok(2), ok(3));
    expect(r.error).toBeNull();
    expect(r.rtt).toMatchObject({ sent: 3, received: 3, loss_percent: 0, samples_ms: [1, 2, 3] });
  });

  it('still counts the probes lost beside them', () => {
    const r = round(refused, ok(1), lost, ok(3));
    expect(r.rtt).toMatchObject({ sent: 3, received: 2, samples_ms: [1, null, 3] });
    expect(r.rtt?.loss_percent).toBeCloseTo(33.333, 2);
  });

  it('is not measured when every probe was refused: a refused Result without figures', () => {
    const r = round(refused, refused, refused);
    expect(r.rtt).toBeNull();
    expect(r.error).toEqual({
      code: 'refused',
      message:
        'round not measured: all 3 probes were refused: 127.0.0.2:4789 answered "port unreachable": no reflector listens there',
    });
  });

  it('is not measured when it was refused and cut short by shutdown, and says which was the most', () => {
    expect(round(refused, refused, CANCELLED).error?.message).toMatch(
      /^round not measured: 2 of its 3 probes were refused, the others cut short: /,
    );
    const mostlyCancelled = round(refused, CANCELLED, CANCELLED);
    expect(mostlyCancelled.error?.code).toBe('cancelled');
    expect(mostlyCancelled.rtt).toBeNull();
  });

  it('with only lost probes left is an ordinary failed round: 100 % loss with figures', () => {
    const r = round(refused, lost, lost);
    expect(r.error?.code).toBe('timeout');
    expect(r.rtt).toMatchObject({ sent: 2, received: 0, loss_percent: 100 });
  });
});

describe('a round refused by a port that is not a reflector (a tcp_port)', () => {
  it('counts every refusal as a lost probe: the round is evidence, 100 % loss with figures', () => {
    const r = round(refusedService, refusedService, refusedService);
    expect(r.error?.code).toBe('refused');
    expect(r.error?.message).toMatch(/^all 3 probes lost: /);
    expect(r.rtt).toMatchObject({ sent: 3, received: 0, loss_percent: 100 });
  });

  it('counts a refusal beside answered probes as loss', () => {
    const r = round(refusedService, ok(1), ok(2), ok(3));
    expect(r.error).toBeNull();
    expect(r.rtt).toMatchObject({ sent: 4, received: 3, loss_percent: 25 });
  });
});
