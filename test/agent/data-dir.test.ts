// Where the agent keeps its spool when --data-dir is not given: never the working directory.
import { describe, expect, it } from 'vitest';
import { defaultDataDir } from '../../agent/data-dir.ts';

const home = () => '/home/ops';

describe('the default data directory', () => {
  it('is $STATE_DIRECTORY when systemd sets it (the first, when the unit lists several)', () => {
    expect(defaultDataDir('dallas', { STATE_DIRECTORY: '/var/lib/wanwatch/agent-dallas' }, 999, home)).toBe(
      '/var/lib/wanwatch/agent-dallas',
    );
    expect(defaultDataDir('dallas', { STATE_DIRECTORY: '/var/lib/a:/var/lib/b' }, 0, home)).toBe(
      '/var/lib/a',
    );
  });

  it('is /var/lib/wanwatch/agent-<site> for root', () => {
    expect(defaultDataDir('dallas', {}, 0, home)).toBe('/var/lib/wanwatch/agent-dallas');
  });

  it('is the XDG state directory of any other user', () => {
    expect(defaultDataDir('dallas', {}, 1000, home)).toBe('/home/ops/.local/state/wanwatch/agent-dallas');
    expect(defaultDataDir('dallas', { XDG_STATE_HOME: '/srv/state' }, 1000, home)).toBe(
      '/srv/state/wanwatch/agent-dallas',
    );
    // The XDG rule: a relative value is ignored.
    expect(defaultDataDir('dallas', { XDG_STATE_HOME: 'state' }, 1000, home)).toBe(
      '/home/ops/.local/state/wanwatch/agent-dallas',
    );
  });

  it('ignores an empty $STATE_DIRECTORY', () => {
    expect(defaultDataDir('x', { STATE_DIRECTORY: '' }, 0, home)).toBe('/var/lib/wanwatch/agent-x');
  });
});
