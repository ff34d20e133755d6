#!/usr/bin/env node
import { exportCommand, groupsCommand, runCommand } from '../daemon/cli/run-usage.js';
import { exitWhenWritten, handleClosedReader } from '../shared/output.js';
import { main } from '../tui/cli/main.js';

handleClosedReader();
await exitWhenWritten(await main(process.argv.slice(2), { run: runCommand, groups: groupsCommand, export: exportCommand }));
