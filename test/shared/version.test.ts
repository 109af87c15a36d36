// Which agents a collector takes by version: its own release line and the one before.
import { describe, expect, it } from 'vitest';
import {
  checkAgentVersion,
  isVersionRefusal,
  parseVersion,
  releaseLine,
  WANWATCH_VERSION,
} from '../../shared/version.ts';

const verdict = (agent: string, collector: string) => {
  const v = checkAgentVersion(agent, collector, 'dallas');
  return v.ok ? 'ok' : v.verdict;
};

describe('agent versions a collector takes', () => {
  it('in 0.x, a line is a minor version: the collector takes its own and the one before', () => {
    expect(verdict('0.4.0', '0.4.7')).toBe('ok');
    expect(verdict('0.4.9', '0.4.0')).toBe('ok'); // a newer patch of the same line
    expect(verdict('0.3.12', '0.4.0')).toBe('ok');
    expect(verdict('0.2.5', '0.4.0')).toBe('too_old');
    expect(verdict('0.5.0', '0.4.3')).toBe('too_new');
    expect(verdict('1.0.0', '0.4.3')).toBe('too_new');
  });

  it('from 1.0, a line is a major version', () => {
    expect(verdict('2.9.1', '2.0.0')).toBe('ok');
    expect(verdict('1.7.0', '2.3.0')).toBe('ok');
    expect(verdict('1.7.0', '3.0.0')).toBe('too_old');
    expect(verdict('0.9.0', '1.0.0')).toBe('too_old');
    expect(verdict('3.0.0', '2.3.0')).toBe('too_new');
  });

  it('takes pre-releases by their line, and what is not a version (a development build: no line to judge)', () => {
    expect(verdict('0.4.0-rc.1', '0.4.0')).toBe('ok');
    expect(verdict('0.2.0-rc.1', '0.4.0')).toBe('too_old');
    expect(verdict('test', '0.4.0')).toBe('ok');
    expect(verdict('', '0.4.0')).toBe('ok');
  });

  it('says both versions and what to upgrade, in a message an agent tells from a token problem', () => {
    const old = checkAgentVersion('0.2.5', '0.4.0', 'dallas');
    expect(old).toMatchObject({ ok: false, verdict: 'too_old' });
    const oldMessage = old.ok ? '' : old.message;
    expect(oldMessage).toContain('wanwatch 0.2.5');
    expect(oldMessage).toContain('(0.4.0), which takes 0.3.x and 0.4.x agents');
    expect(oldMessage).toContain('Upgrade wanwatch at site dallas to 0.4.x');
    expect(isVersionRefusal(oldMessage)).toBe(true);
    const fresh = checkAgentVersion('0.5.1', '0.4.0', 'dallas');
    const freshMessage = fresh.ok ? '' : fresh.message;
    expect(freshMessage).toContain('newer than this collector (0.4.0)');
    expect(freshMessage).toContain('Upgrade the collector to 0.5.x first');
    expect(isVersionRefusal("the bearer token matches no site's token")).toBe(false);
  });

  it('a 0.0.x or 1.x collector names only its own line', () => {
    const v = checkAgentVersion('0.1.0', '0.0.3', 'x');
    expect(v.ok ? '' : v.message).toContain('takes 0.0.x agents');
  });

  it('knows its own version, a line of its own', () => {
    const own = parseVersion(WANWATCH_VERSION);
    expect(own).toBeDefined();
    expect(releaseLine(own!)).toMatch(/^\d+\.(\d+\.)?x$/);
    expect(verdict(WANWATCH_VERSION, WANWATCH_VERSION)).toBe('ok');
  });
});
