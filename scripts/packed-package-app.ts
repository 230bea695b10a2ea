// An application that installed only the packed ergon-rx and rxjs (`npm install
// ergon-rx-x.y.z.tgz rxjs`): scripts/check-packed-package.sh copies it into such a project,
// type-checks it there without skipLibCheck, and runs it with plain node. It uses every entry
// point without a driver: ergon-rx/telemetry (a logger; traces and metrics to the console and
// OTLP gRPC), ergon-rx/cli, ergon-rx/testing, and the runner with `telemetry.logs`; and it
// checks that what is still optional fails with one line naming the npm install to run.
// Prints "packed package ok" when everything held.
import { consume, consumerTask, MemoryConnector, type Transaction } from 'ergon-rx';
import { reportProgress } from 'ergon-rx/cli';
import { defineTask, runTask } from 'ergon-rx/runner';
import { getLogger, setupTelemetry, TelemetrySetupError } from 'ergon-rx/telemetry';
import { summarize } from 'ergon-rx/testing';

function check(condition: boolean, what: string): void {
  if (!condition) {
    console.error(`packed package: ${what}`);
    process.exit(1);
  }
}

// Every entry point without a driver loads (and its types check) with nothing optional.
check(typeof reportProgress === 'function' && typeof summarize === 'function', 'entry points');
getLogger('app').info('getLogger loads without any optional package');

// Tracing and metrics to the console and to an OTLP gRPC collector (none listens: nothing is
// exported before shutdown, the point is that the exporters load and start).
const telemetry = setupTelemetry({
  traces: {
    exporters: [{ type: 'otlp', endpoint: 'http://127.0.0.1:4317', timeout: 500 }],
  },
  metrics: {
    readers: [
      { type: 'console', interval: 60_000 },
      { type: 'otlp', endpoint: 'http://127.0.0.1:4317', interval: 60_000, timeout: 500 },
    ],
  },
  logs: { level: 'warn' },
});
check(telemetry.tracerProvider !== undefined, 'no tracer provider');
check(telemetry.metricReaders.length === 2, 'not two metric readers');
await telemetry.shutdown();

// What stays optional fails with one line naming the npm install.
for (const [what, config] of [
  ['Prometheus', { metrics: { readers: [{ type: 'prometheus' as const }] } }],
  ['OTLP logs', { logs: { sinks: [{ type: 'otlp' as const }] } }],
] as const) {
  try {
    const handle = setupTelemetry(config);
    await handle.shutdown();
    check(false, `${what} set up without its optional package`);
  } catch (error) {
    check(error instanceof TelemetrySetupError, `${what}: ${String(error)}`);
    const message = (error as Error).message;
    check(!message.includes('\n'), `${what}: more than one line: ${message}`);
    check(/npm install @opentelemetry\/[a-z-]+@\d/.test(message), `${what}: ${message}`);
    console.log(`${what} without its package: ${message}`);
  }
}

// The runner with telemetry.logs: its records go through ergon-rx's logging.
interface Greeting {
  readonly name: string;
}
const greet = consumerTask({
  name: 'greet',
  process: (transaction: Transaction<Greeting>) => {
    getLogger('greet').info('greeting', { name: transaction.payload.name });
    return `hello, ${transaction.payload.name}`;
  },
});
const lines: string[] = [];
const write = process.stdout.write.bind(process.stdout);
process.stdout.write = (chunk: string | Uint8Array) => {
  lines.push(String(chunk));
  return true;
};
let code: number;
try {
  code = await runTask(
    defineTask({
      name: 'greetings',
      connectors: {
        greetings: () => new MemoryConnector<Greeting>({ source: [{ name: 'Ada' }] }),
      },
      telemetry: { logs: { level: 'info', format: 'json', sinks: ['console'] } },
      run: ({ connectors, stop$ }) => consume(connectors.greetings, greet, {}, { stop$ }),
    }),
    { signals: false },
  );
} finally {
  process.stdout.write = write;
}
check(code === 0, `runTask exited ${code}`);
const greeting = lines
  .flatMap((chunk) => chunk.split('\n'))
  .filter((line) => line.startsWith('{'))
  .map((line) => JSON.parse(line) as Record<string, unknown>)
  .find((record) => record['message'] === 'greeting');
check(greeting !== undefined, `no JSON record "greeting" among:\n${lines.join('')}`);
check(greeting?.['logger'] === 'greet', `the greeting record: ${JSON.stringify(greeting)}`);
console.log('packed package ok');
