import { describe, expect, it } from 'vitest';
import { duplicateKeys, formatPath, parseYamlWithLines } from '../../shared/config/yaml.ts';

describe('YAML with line positions', () => {
  const text = [
    'sites:',
    '  dallas: {address: 10.1.0.10}',
    'links:',
    '  - between: [dallas, london]',
    '',
  ].join('\n');

  it('finds the line of a path, and of the deepest ancestor the file has for a missing key', () => {
    const { lineOf } = parseYamlWithLines(text);
    expect(lineOf(['sites', 'dallas', 'address'])).toBe(2);
    expect(lineOf(['links', 0, 'between', 1])).toBe(4);
    expect(lineOf(['sites', 'dallas', 'token_env'])).toBe(2);
    expect(lineOf(['links', 3])).toBe(4);
    expect(lineOf(['probes'])).toBe(1);
  });

  it('writes paths with dots for keys and brackets for indexes', () => {
    expect(formatPath(['links', 0, 'between', 1])).toBe('links[0].between[1]');
    expect(formatPath([0, 'x'])).toBe('[0].x');
    expect(formatPath([])).toBe('');
  });

  it('finds keys given twice in one map, at any depth, with each line', () => {
    const y = parseYamlWithLines('a: 1\nb:\n  - {c: 1, c: 2}\na: 3\n', { uniqueKeys: false });
    expect(y.doc.errors).toEqual([]);
    expect(duplicateKeys(y)).toEqual([
      { map: ['b', 0], key: 'c', lines: [3, 3] },
      { map: [], key: 'a', lines: [1, 4] },
    ]);
  });

  it('leaves syntax errors to the caller, with their line', () => {
    const y = parseYamlWithLines('sites: [a, b\n');
    expect(y.doc.errors.length).toBeGreaterThan(0);
    expect(y.doc.errors[0]?.linePos?.[0].line).toBeGreaterThanOrEqual(1);
  });
});
