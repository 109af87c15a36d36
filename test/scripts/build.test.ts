// The build's check that every file the bundle reads at run time is in the package (scripts/build.ts).
import { describe, expect, it } from 'vitest';
import { inFiles } from '../../scripts/build.ts';

const FILES = ['bin/wanwatch.js', 'dist/', 'examples/', 'dashboards/*.json', 'probes/native/binding.gyp'];

describe('inFiles', () => {
  it('finds a file under a folder of the files list, and a file named in it', () => {
    expect(inFiles('examples/remote-failover.yaml', FILES)).toBe(true);
    expect(inFiles('dist/console/index.html', FILES)).toBe(true);
    expect(inFiles('bin/wanwatch.js', FILES)).toBe(true);
  });

  it('leaves out what the list does not name', () => {
    expect(inFiles('bin/lab.js', FILES)).toBe(false);
    expect(inFiles('test/fixtures/topology/a.yaml', FILES)).toBe(false);
    expect(inFiles('examples-old/a.yaml', FILES)).toBe(false);
  });

  it('matches a wildcard within one folder only', () => {
    expect(inFiles('dashboards/wanwatch-link.json', FILES)).toBe(true);
    expect(inFiles('dashboards/src/link.json', FILES)).toBe(false);
    expect(inFiles('dashboards/provisioning/dashboards.yaml', FILES)).toBe(false);
  });

  it('always counts package.json, README and LICENSE, which npm always packs', () => {
    expect(inFiles('package.json', [])).toBe(true);
    expect(inFiles('README.md', [])).toBe(true);
    expect(inFiles('LICENSE', [])).toBe(true);
  });

  it('counts an addon built at install when its binding.gyp is in the package', () => {
    expect(inFiles('probes/native/build/Release/wwsock.node', FILES)).toBe(true);
    expect(inFiles('probes/native/build/Release/wwsock.node', ['dist/'])).toBe(false);
  });
});
