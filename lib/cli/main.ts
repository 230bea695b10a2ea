#!/usr/bin/env node
import { runCli } from './run-cli.js';

// The `ergon` executable. Under tsx (`node --import tsx …/main.js`) it can import .ts modules.
const code = await runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  cwd: process.cwd(),
});
process.exit(code);
