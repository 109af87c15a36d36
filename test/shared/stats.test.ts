// The window statistic the rtt_high rule compares is computed on its own (shared/stats.ts), for every
// link direction that receives a round: it must be exactly the statistic of the pooled summary.
import fc from 'fast-check';
import { expect, it } from 'vitest';
import { RTT_STATISTICS } from '../../shared/config/schema.ts';
import { pooledRtt, statisticOf, windowRttStatistic } from '../../shared/stats.ts';
import { rttResult } from '../../testbed/results.ts';

const sample = fc.option(fc.double({ min: 0, max: 5000, noNaN: true }), { nil: null, freq: 8 });

it('windowRttStatistic equals the statistic of pooledRtt, for every statistic and window', () => {
  fc.assert(
    fc.property(
      fc.array(fc.array(sample, { minLength: 1, maxLength: 12 }), { maxLength: 40 }),
      fc.constantFrom(...RTT_STATISTICS),
      (rounds, statistic) => {
        const results = rounds.map((samples, i) => rttResult('a', 'b', i, samples));
        expect(windowRttStatistic(results, statistic)).toBe(statisticOf(pooledRtt(results), statistic));
      },
    ),
    { numRuns: 500 },
  );
});
