#!/usr/bin/env node
// Entry point for the `wanwatch` command. The sources are TypeScript; tsx compiles them on load so
// the checkout runs as it is after `npm ci`, with no build step.
import { register } from 'tsx/esm/api';

register();
await import('../cli/main.ts');
