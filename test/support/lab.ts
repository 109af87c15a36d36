// Tests that need the emulated WAN lab (root, network namespaces, /dev/net/tun, cc, ping, iperf3) run
// inside `describeLab`. Where the lab cannot run they are skipped with the reason printed, except with
// WANWATCH_REQUIRE_LAB=1 (CI), where a missing lab is a failure instead.
import { describe, it } from 'vitest';
import { labUnavailable } from '../../lab/lab.ts';

export function describeLab(name: string, body: () => void): void {
  const why = labUnavailable();
  if (why === undefined) {
    describe(name, body);
    return;
  }
  if (process.env.WANWATCH_REQUIRE_LAB === '1') {
    describe(name, () => {
      it('runs, because WANWATCH_REQUIRE_LAB=1 requires the lab', () => {
        throw new Error(`WANWATCH_REQUIRE_LAB=1 but the lab cannot run here: ${why}`);
      });
    });
    return;
  }
  process.stderr.write(`skipping "${name}": ${why}\n`);
  describe.skip(name, body);
}
