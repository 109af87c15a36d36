#!/usr/bin/env node
// Entry point for `npm run lab -- up|set|check|down FILE`, the emulated WAN lab (lab/cli.ts), run
// through tsx like the `wanwatch` command.
import { register } from 'tsx/esm/api';

register();
await import('../lab/cli.ts');
