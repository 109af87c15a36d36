#!/usr/bin/env node
// Entry point for the `wanwatch` command. An installed package runs dist/wanwatch.js, the JavaScript
// that scripts/build.ts bundles when the package is packed. A checkout has the TypeScript sources
// beside this file and runs them through tsx (a development dependency), so an edit takes effect
// without a build and tests never run a stale bundle.
import { existsSync } from 'node:fs';
import module from 'node:module';

if (existsSync(new URL('../cli/main.ts', import.meta.url))) {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../cli/main.ts');
} else {
  // Node 22.1 and later keep the compiled bundle on disk between starts (a third less start-up time).
  module.enableCompileCache?.();
  await import('../dist/wanwatch.js');
}
