// Loaded first in every test file's process (`npm test` passes it to the runner with --import): what
// the file starts inherits MLP_TEST_FILE, so a process it leaves behind names the file (scripts/leftovers.mjs).
import { relative } from 'node:path';

const file = process.argv[1];
if (process.env.MLP_TEST_RUN && file && /\.test\.tsx?$/.test(file)) process.env.MLP_TEST_FILE = relative(process.cwd(), file);
