// The README's first command: `npm run demo` brings up a collector and three agents on loopback, shows
// live results, and the one link with an impossible limit alerts, all within a minute.
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';

describe('npm run demo', () => {
  it('shows live results and an alert on the tight link within a minute, then stops cleanly', async () => {
    const r = await execa('npx', ['tsx', 'scripts/demo.ts', '--for', '25'], {
      reject: false,
      timeout: 90_000,
    });
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/--- wanwatch status \(\d+ s\) ---\nLINK\s+DIRECTION/);
    // Live RTT figures on every link.
    expect(r.stdout).toMatch(/branch1 – branch2\s+branch1 → branch2\s+\d+(\.\d+)? \/ 80 ms/);
    expect(r.stdout).toMatch(
      />>> WEBHOOK FIRING: p95 RTT [\d.]+ ms > 0 ms on branch2 ↔ hq \((branch2 → hq|hq → branch2) [\d.]+ ms/,
    );
    expect(r.stdout).toContain('stopped.');
  }, 120_000);
});
