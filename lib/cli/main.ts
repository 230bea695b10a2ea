#!/usr/bin/env node
import { plainLoggingToStderr } from '../telemetry/logging/get-logger.js';
import { runCli } from './run-cli.js';

// stdout carries the command's own output (progress, JSON summaries, outcomes, lists): log
// lines, the runner's included, go to stderr.
plainLoggingToStderr();

// The `ergon` executable. Under tsx (`node --import tsx …/main.js`) it can import .ts modules.
const code = await runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  cwd: process.cwd(),
});
process.exit(code);
