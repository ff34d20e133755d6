#!/usr/bin/env node
import { main } from '../daemon/cli/main.js';
import { exitWhenWritten, handleClosedReader } from '../shared/output.js';

handleClosedReader();
await exitWhenWritten(await main(process.argv.slice(2)));
