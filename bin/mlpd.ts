#!/usr/bin/env node
import { main } from '../daemon/cli/main.js';

process.exit(await main(process.argv.slice(2)));
