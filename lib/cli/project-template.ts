import { readFileSync } from 'node:fs';

interface PackageManifest {
  readonly devDependencies?: Readonly<Record<string, string>>;
}

/**
 * ergon-rx's own package.json (two levels up from both `lib/cli/` and `dist/cli/`), or an
 * empty manifest when it cannot be read.
 */
function readManifest(): PackageManifest {
  try {
    return JSON.parse(
      readFileSync(new URL('../../package.json', import.meta.url), 'utf8'),
    ) as PackageManifest;
  } catch {
    return {};
  }
}

/** Versions for a scaffolded project's package.json. */
interface ScaffoldVersions {
  /** The ergon-rx dependency: `file:vendor/ergon-rx-x.y.z.tgz` or a registry range. */
  readonly ergon: string;
  /** By package name: rxjs, mocha, chai, tsx, typescript and their @types. */
  readonly tools: Readonly<Record<string, string>>;
}

const fallbackTools: Readonly<Record<string, string>> = {
  rxjs: '7.8.2',
  mocha: '12.0.3',
  chai: '6.3.0',
  tsx: '4.23.15',
  typescript: '5.9.3',
  '@types/chai': '5.2.3',
  '@types/mocha': '10.0.10',
  '@types/node': '20.19.43',
  '@opentelemetry/exporter-prometheus': '0.223.0',
};

/** The versions `ergon new` writes: `ergon` for ergon-rx, `^<dev version>` for tools. */
export function scaffoldVersions(ergon: string): ScaffoldVersions {
  const manifest = readManifest();
  const tools: Record<string, string> = {};
  for (const [name, fallback] of Object.entries(fallbackTools)) {
    tools[name] = `^${manifest.devDependencies?.[name] ?? fallback}`;
  }
  return { ergon, tools };
}

/** One file of a scaffolded project: its path inside the project and its content. */
export interface TemplateFile {
  readonly path: string;
  readonly content: string;
}

/** What `ergon new` adds to the plain project. */
export interface TemplateOptions {
  /** `--observability`: the stack in observability/, telemetry from `OTEL_*`, `npm run observe`. */
  readonly observability?: boolean;
}

/**
 * `npm run observe`: the task with its traces to the stack's collector, its metrics served
 * for the stack's Prometheus (on every interface: Prometheus runs in a container), and the
 * live dashboard linking failures to Jaeger.
 */
const observeScript =
  'OTEL_SERVICE_NAME=greetings OTEL_TRACES_EXPORTER=otlp ' +
  'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=http://localhost:4317 ' +
  'OTEL_METRICS_EXPORTER=prometheus OTEL_EXPORTER_PROMETHEUS_HOST=0.0.0.0 ' +
  'tsx node_modules/ergon-rx/dist/cli/main.js run src/task.ts --dashboard :9400';

function packageJson(name: string, versions: ScaffoldVersions, options: TemplateOptions): string {
  const tool = (dependency: string): string => versions.tools[dependency] ?? 'latest';
  const manifest = {
    name,
    version: '0.1.0',
    private: true,
    type: 'module',
    scripts: {
      start: 'tsx node_modules/ergon-rx/dist/cli/main.js run src/task.ts',
      ...(options.observability === true ? { observe: observeScript } : {}),
      test: 'mocha',
      typecheck: 'tsc -p tsconfig.json',
    },
    dependencies: {
      'ergon-rx': versions.ergon,
      rxjs: tool('rxjs'),
      ...(options.observability === true
        ? { '@opentelemetry/exporter-prometheus': tool('@opentelemetry/exporter-prometheus') }
        : {}),
    },
    // npm 11 lists install scripts nobody reviewed: the tools need none of theirs. (It also
    // lists ergon-rx's `prepare`, which does nothing in a packed copy.)
    allowScripts: { esbuild: false, protobufjs: false },
    devDependencies: Object.fromEntries(
      ['@types/chai', '@types/mocha', '@types/node', 'chai', 'mocha', 'tsx', 'typescript'].map(
        (dependency) => [dependency, tool(dependency)],
      ),
    ),
  };
  return `${JSON.stringify(manifest, null, 2)}\n`;
}

const tsconfig = `${JSON.stringify(
  {
    compilerOptions: {
      target: 'es2022',
      lib: ['es2022'],
      module: 'nodenext',
      moduleResolution: 'nodenext',
      types: ['node', 'mocha'],
      strict: true,
      noEmit: true,
    },
    include: ['src', 'spec'],
  },
  null,
  2,
)}\n`;

const mocharc = `${JSON.stringify(
  { spec: ['spec/**/*.spec.ts'], extension: ['ts'], 'node-option': ['import=tsx'] },
  null,
  2,
)}\n`;

function task(options: TemplateOptions): string {
  const telemetry =
    options.observability === true
      ? `  // Set up from the OTEL_* variables (see \`npm run observe\`); without them, nothing is exported.
  telemetry: {},
`
      : '';
  return `import { consume, consumerTask, MemoryConnector, type Transaction } from 'ergon-rx';
import { defineTask } from 'ergon-rx/runner';

/** What one transaction carries. */
export interface Greeting {
  readonly name: string;
}

/** The business logic: what to do with one transaction. */
export const greet = consumerTask({
  name: 'greet',
  process: (transaction: Transaction<Greeting>) => \`hello, \${transaction.payload.name}\`,
});

/** The consumer of each task, by task name: what \`ergon process\` runs. */
export const consumers = { greetings: greet };

/** The task: \`ergon run src/task.ts\` runs it until its queue is empty. */
export default defineTask({
  name: 'greetings',
  connectors: {
    greetings: () =>
      new MemoryConnector<Greeting>({ source: [{ name: 'Ada' }, { name: 'Grace' }] }),
  },
  policies: { consume: { loop: { mode: 'batch' } } },
  shutdownGrace: '5s',
${telemetry}  run: ({ connectors, policies, stop$ }) =>
    consume(connectors.greetings, greet, policies.consume, { stop$ }),
});
`;
}

const spec = `import { expect } from 'chai';
import { firstValueFrom } from 'rxjs';
import { createTransaction, runTransaction } from 'ergon-rx';
import { runTask } from 'ergon-rx/runner';
import greetings, { greet } from '../src/task.js';

describe('greetings', () => {
  it('greets one transaction', async () => {
    const outcome = await firstValueFrom(runTransaction(greet, createTransaction({ name: 'Ada' })));
    expect(outcome.status).to.equal('success');
    if (outcome.status === 'success') expect(outcome.result).to.equal('hello, Ada');
  });

  it('runs the whole task to completion', async () => {
    expect(await runTask(greetings, { signals: false })).to.equal(0);
  });
});
`;

const observabilityReadme = `
## Observability

\`observability/\` holds a Docker Compose stack: an OpenTelemetry Collector (OTLP on :4317)
in front of Jaeger (http://localhost:16686), Prometheus (http://localhost:9090) scraping the
task's metrics on :9464, and Grafana (http://localhost:3000) with the ergon-rx dashboard
provisioned.

\`\`\`sh
docker compose -f observability/docker-compose.yml up -d
npm run observe   # the task with traces, metrics and the live dashboard on http://127.0.0.1:9400
\`\`\`
`;

function readme(name: string, ergon: string, options: TemplateOptions): string {
  const source = ergon.startsWith('file:')
    ? `- \`${ergon.slice('file:'.length)}\`: the ergon-rx this project was made with, packed by \`ergon new\`
  (it installs offline and shares the project's rxjs). Once you use ergon-rx from a registry:
  \`npm install ergon-rx@<version>\`, and delete the tarball.
`
    : '';
  return `# ${name}

An [ergon-rx](https://www.npmjs.com/package/ergon-rx) task.

\`\`\`sh
npm install
npm test          # the spec in spec/
npm run typecheck # tsc, strict
npm start         # ergon run src/task.ts (under tsx)
npx tsx node_modules/ergon-rx/dist/cli/main.js process src/task.ts consume --payload '{"name":"Ada"}'
\`\`\`

- \`src/task.ts\`: the task definition (\`defineTask\`) and its consumer (\`consumerTask\`), fed by
  an in-memory connector; replace it with a real one (\`ergon-rx/rabbitmq\`, \`ergon-rx/postgres\`…).
- \`spec/task.spec.ts\`: one transaction through the consumer, then the whole task.
${source}${options.observability === true ? observabilityReadme : ''}`;
}

const gitignore = 'node_modules/\ndist/\n';

/** The files `ergon new` writes for a project named `name` (the stack's files are copied). */
export function projectTemplate(
  name: string,
  versions: ScaffoldVersions,
  options: TemplateOptions = {},
): TemplateFile[] {
  return [
    { path: 'package.json', content: packageJson(name, versions, options) },
    { path: 'tsconfig.json', content: tsconfig },
    { path: '.mocharc.json', content: mocharc },
    { path: '.gitignore', content: gitignore },
    { path: 'README.md', content: readme(name, versions.ergon, options) },
    { path: 'src/task.ts', content: task(options) },
    { path: 'spec/task.spec.ts', content: spec },
  ];
}
