#!/usr/bin/env node
import { runCommand } from '../daemon/cli/runUsage.js';
import { main } from '../tui/cli/main.js';

process.exit(await main(process.argv.slice(2), { run: runCommand }));
