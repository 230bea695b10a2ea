import { expect } from 'chai';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ts from 'typescript';
import { runErgon } from './support/run-ergon.js';

/** Syntax errors of a TypeScript source (no type checking: the scaffold is not installed). */
function syntaxErrors(source: string, fileName: string): string[] {
  const { diagnostics = [] } = ts.transpileModule(source, {
    fileName,
    reportDiagnostics: true,
    compilerOptions: { module: ts.ModuleKind.NodeNext, target: ts.ScriptTarget.ES2022 },
  });
  return diagnostics.map((diagnostic) =>
    ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n'),
  );
}

describe('ergon new', () => {
  let workspace: string;

  beforeEach(async () => {
    workspace = await mkdtemp(join(tmpdir(), 'ergon-new-'));
  });

  afterEach(async () => {
    await rm(workspace, { recursive: true, force: true });
  });

  it('scaffolds a project whose files parse, with the running ergon-rx packed in vendor/', async function () {
    this.timeout(60_000); // npm pack
    const { code, stdout } = await runErgon(['new', 'My Demo'], workspace);
    expect(code).to.equal(0);
    expect(stdout).to.include('npm install && npm test');
    const project = join(workspace, 'My Demo');
    const read = (path: string): Promise<string> => readFile(join(project, path), 'utf8');

    const manifest = JSON.parse(await read('package.json')) as {
      name: string;
      type: string;
      scripts: Record<string, string>;
      dependencies: Record<string, string>;
      devDependencies: Record<string, string>;
    };
    expect(manifest.name).to.equal('my-demo');
    expect(manifest.type).to.equal('module');
    expect(manifest.scripts['test']).to.equal('mocha');
    // The running ergon-rx, packed into the project: installs offline, shares the project's rxjs.
    const [tarball] = await readdir(join(project, 'vendor'));
    expect(tarball).to.match(/^ergon-rx-\d+\.\d+\.\d+\.tgz$/);
    expect(manifest.dependencies['ergon-rx']).to.equal(`file:vendor/${tarball}`);
    expect(stdout).to.include(join('My Demo', 'vendor', tarball as string));
    expect(manifest.dependencies).to.have.property('rxjs');
    expect(manifest.devDependencies).to.include.keys('mocha', 'chai', 'tsx', 'typescript');

    const tsconfig = JSON.parse(await read('tsconfig.json')) as { compilerOptions: object };
    expect(tsconfig.compilerOptions).to.include({ strict: true });
    const mocharc = JSON.parse(await read('.mocharc.json')) as Record<string, unknown>;
    expect(mocharc['node-option']).to.deep.equal(['import=tsx']);

    const task = await read('src/task.ts');
    expect(syntaxErrors(task, 'task.ts')).to.deep.equal([]);
    expect(task).to.include('defineTask').and.include('MemoryConnector');
    const spec = await read('spec/task.spec.ts');
    expect(syntaxErrors(spec, 'task.spec.ts')).to.deep.equal([]);
    expect(spec).to.include("from '../src/task.js'");
    const readme = await read('README.md');
    expect(readme).to.include('# my-demo');
    expect(readme).to.include(`vendor/${tarball}`);
  });

  it('depends on the registry when --ergon-rx names a version range', async () => {
    const { code } = await runErgon(['new', 'demo', '--ergon-rx', '^0.1.0'], workspace);
    expect(code).to.equal(0);
    const manifest = JSON.parse(
      await readFile(join(workspace, 'demo', 'package.json'), 'utf8'),
    ) as {
      dependencies: Record<string, string>;
    };
    expect(manifest.dependencies['ergon-rx']).to.equal('^0.1.0');
    expect(await readdir(join(workspace, 'demo'))).to.not.include('vendor');
  });

  it('copies an --ergon-rx tarball into vendor/ and depends on the copy', async () => {
    await writeFile(join(workspace, 'ergon-rx-9.9.9.tgz'), 'packed');
    const { code } = await runErgon(
      ['new', 'demo', '--ergon-rx', './ergon-rx-9.9.9.tgz'],
      workspace,
    );
    expect(code).to.equal(0);
    const project = join(workspace, 'demo');
    const manifest = JSON.parse(await readFile(join(project, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    expect(manifest.dependencies['ergon-rx']).to.equal('file:vendor/ergon-rx-9.9.9.tgz');
    expect(await readFile(join(project, 'vendor', 'ergon-rx-9.9.9.tgz'), 'utf8')).to.equal(
      'packed',
    );
  });

  it('refuses an --ergon-rx tarball that does not exist', async () => {
    const { code, stderr } = await runErgon(
      ['new', 'demo', '--ergon-rx', './nowhere.tgz'],
      workspace,
    );
    expect(code).to.equal(2);
    expect(stderr).to.include('--ergon-rx: no file ./nowhere.tgz');
  });

  it('refuses a directory that is not empty', async () => {
    await writeFile(join(workspace, 'keep.txt'), 'x');
    const { code, stderr } = await runErgon(['new', '.'], workspace);
    expect(code).to.equal(2);
    expect(stderr).to.include('exists and is not empty');
  });

  it('adds the observability stack with --observability: compose, collector, Prometheus, Grafana and its dashboard', async () => {
    const { code, stdout } = await runErgon(
      ['new', 'demo', '--ergon-rx', '^0.1.0', '--observability'],
      workspace,
    );
    expect(code).to.equal(0);
    const project = join(workspace, 'demo');
    const read = (path: string): Promise<string> => readFile(join(project, path), 'utf8');
    for (const path of [
      'observability/docker-compose.yml',
      'observability/otel-collector.yaml',
      'observability/prometheus.yml',
      'observability/grafana/provisioning/datasources/ergon-rx.yaml',
      'observability/grafana/provisioning/dashboards/ergon-rx.yaml',
      'observability/grafana/dashboards/ergon-rx.json',
    ]) {
      expect(stdout).to.include(join('demo', path));
    }
    // The dashboard the package ships, as it is.
    expect(await read('observability/grafana/dashboards/ergon-rx.json')).to.equal(
      await readFile(
        new URL('../../assets/observability/grafana/dashboards/ergon-rx.json', import.meta.url),
        'utf8',
      ),
    );
    const manifest = JSON.parse(await read('package.json')) as {
      scripts: Record<string, string>;
      dependencies: Record<string, string>;
    };
    expect(manifest.scripts['observe']).to.include('--dashboard :9400');
    expect(manifest.scripts['observe']).to.include('OTEL_METRICS_EXPORTER=prometheus');
    expect(manifest.dependencies).to.have.property('@opentelemetry/exporter-prometheus');
    const task = await read('src/task.ts');
    expect(task).to.include('telemetry: {},');
    expect(syntaxErrors(task, 'task.ts')).to.deep.equal([]);
    expect(await read('README.md')).to.include(
      'docker compose -f observability/docker-compose.yml up -d',
    );
  });

  it('writes no stack and no telemetry without --observability', async () => {
    const { code } = await runErgon(['new', 'demo', '--ergon-rx', '^0.1.0'], workspace);
    expect(code).to.equal(0);
    expect(await readdir(join(workspace, 'demo'))).to.not.include('observability');
    const task = await readFile(join(workspace, 'demo', 'src', 'task.ts'), 'utf8');
    expect(task).to.not.include('telemetry');
  });
});
