// The structure check that `npm test` runs: it must catch each kind of tangle on a small made-up tree,
// the way `npm test` runs it on the real one.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { checkStructure, MAX_LINES } from '../../scripts/check-structure.ts';

let root: string | undefined;

function tree(files: Record<string, string>): string {
  root = mkdtempSync(join(tmpdir(), 'wanwatch-structure-'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

afterEach(() => {
  if (root) rmSync(root, { recursive: true, force: true });
  root = undefined;
});

const rules = (dir: string) => checkStructure(dir).map((v) => v.rule);

describe('check:structure', () => {
  it('passes imports that flow down the layers', () => {
    const dir = tree({
      'shared/stats.ts': 'export const x = 1;\n',
      'probes/icmp.ts': "import { x } from '../shared/stats.ts';\nexport const y = x;\n",
      'agent/runtime.ts': "import { y } from '../probes/icmp.ts';\nexport const z = y;\n",
    });
    expect(checkStructure(dir)).toEqual([]);
  });

  it('flags an import that climbs to a higher layer, naming the file and what it may import', () => {
    const dir = tree({
      'shared/stats.ts': "import { y } from '../probes/icmp.ts';\nexport const x = y;\n",
      'probes/icmp.ts': 'export const y = 1;\n',
    });
    const [v] = checkStructure(dir);
    expect(v?.rule).toBe('layer');
    expect(v?.message).toContain('shared/stats.ts imports probes/icmp.ts');
  });

  it('flags two files that import each other, type-only imports included', () => {
    const dir = tree({
      'agent/a.ts': "import type { B } from './b.ts';\nexport type A = B;\n",
      'agent/b.ts': "import { type A } from './a.ts';\nexport type B = A | 1;\n",
    });
    expect(rules(dir)).toEqual(['file-circle']);
  });

  it('flags sibling folders that import each other even when no two files do', () => {
    const dir = tree({
      'collector/alerts/event.ts': 'export const e = 1;\n',
      'collector/alerts/evaluator.ts': "import { s } from '../store/store.ts';\nexport const v = s;\n",
      'collector/store/store.ts': "import { e } from '../alerts/event.ts';\nexport const s = e;\n",
    });
    const found = checkStructure(dir);
    expect(found.map((v) => v.rule)).toEqual(['folder-circle']);
    expect(found[0]?.message).toContain('collector/: alerts/, store/ import each other');
  });

  it(`flags a product file over ${MAX_LINES} lines unless its top says why`, () => {
    const long = 'export const a = 1;\n'.repeat(MAX_LINES + 1);
    expect(rules(tree({ 'collector/big.ts': long }))).toEqual(['long-file']);
    rmSync(root!, { recursive: true, force: true });
    expect(rules(tree({ 'collector/big.ts': `// Long: one table, read top to bottom.\n${long}` }))).toEqual(
      [],
    );
    rmSync(root!, { recursive: true, force: true });
    expect(rules(tree({ 'bench/big.ts': long }))).toEqual([]);
  });
});
