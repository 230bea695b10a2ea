import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { jsonLines, runErgon, type ErgonResult } from './support/run-ergon.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** A task module importing ergon-rx from `copy` (a folder holding a copy of lib/). */
function taskModule(copy: string): string {
  return `
import { consume, consumerTask, MemoryConnector } from './${copy}/lib/index.js';
import { defineTask } from './${copy}/lib/runner/index.js';
const double = consumerTask({ process: (tx: { payload: number }) => tx.payload * 2 });
export default defineTask({
  name: 'copied',
  connectors: { numbers: () => new MemoryConnector<number>({ source: [1, 2, 3] }) },
  run: ({ connectors, stop$ }) => consume(connectors.numbers, double, {}, { stop$ }),
});
`;
}

describe('a task defined with a second copy of ergon-rx (child processes)', function () {
  this.timeout(60_000);

  let project: string;
  let runs: Readonly<Record<string, Promise<ErgonResult>>>;
  before(() => {
    // A project with its own copy of ergon-rx (lib/ as it is now) and an older one whose
    // definitions carry no mark, both beside this checkout's node_modules.
    project = mkdtempSync(join(tmpdir(), 'ergon-second-copy-'));
    symlinkSync(join(root, 'node_modules'), join(project, 'node_modules'));
    cpSync(join(root, 'lib'), join(project, 'copy', 'lib'), { recursive: true });
    cpSync(join(root, 'lib'), join(project, 'old-copy', 'lib'), { recursive: true });
    const oldDefineTask = join(project, 'old-copy', 'lib', 'runner', 'define-task.ts');
    const source = readFileSync(oldDefineTask, 'utf8');
    const marking = 'Object.defineProperty(definition, definedBy, { value: packageRoot });';
    expect(source).to.include(marking);
    writeFileSync(oldDefineTask, source.replace(marking, ''));
    writeFileSync(join(project, 'task.ts'), taskModule('copy'));
    writeFileSync(join(project, 'old-task.ts'), taskModule('old-copy'));
    runs = {
      copy: runErgon(['run', join(project, 'task.ts')], project),
      list: runErgon(['list', join(project, 'task.ts'), '--json'], project),
      old: runErgon(['run', join(project, 'old-task.ts')], project),
    };
  });
  after(() => rmSync(project, { recursive: true, force: true }));

  it('recognises the definition and runs it (ergon run, ergon list)', async () => {
    const run = await runs['copy']!;
    expect(run.code, run.stderr).to.equal(0);
    expect(jsonLines(run.stdout)[0]).to.include({ type: 'summary', processed: 3, failures: 0 });
    const list = await runs['list']!;
    expect(list.code, list.stderr).to.equal(0);
    expect(jsonLines(list.stdout)).to.have.length(1);
  });

  it('says two copies are installed, and how to fix it, for a definition it cannot recognise', async () => {
    const { code, stderr } = await runs['old']!;
    expect(code).to.equal(2);
    expect(stderr).to.include('another copy of ergon-rx').and.include('two copies are installed');
    expect(stderr).to.include('npm dedupe').and.include('npx ergon');
  });
});
