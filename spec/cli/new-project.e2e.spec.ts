import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { runErgon } from './support/run-ergon.js';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../', import.meta.url));

/** The shell commands of the first `sh` block of a README. */
function readmeCommands(readme: string): string[] {
  const block = /```sh\n([\s\S]*?)```/.exec(readme)?.[1] ?? '';
  return block
    .split('\n')
    .map((line) => line.replace(/#.*$/, '').trim())
    .filter((line) => line !== '');
}

/**
 * What a new user does: `ergon new demo`, then the commands the scaffold's README gives, as
 * they are. ergon-rx comes packed in the project's vendor/ folder, so nothing unpublished is
 * needed from the registry (the tools come from the npm cache or the registry).
 */
describe('ergon new, end to end: the scaffold README’s commands', function () {
  this.timeout(300_000);
  let directory: string;

  before(async () => {
    directory = mkdtempSync(join(tmpdir(), 'ergon-new-'));
    if (!existsSync(join(root, 'dist', 'cli', 'main.js'))) {
      await run('npm', ['run', '-s', 'build'], { cwd: root });
    }
  });

  after(() => rmSync(directory, { recursive: true, force: true }));

  it('runs every command of its README as written, with one copy of rxjs', async () => {
    const created = await runErgon(['new', 'demo'], directory);
    expect(created.code, created.stderr).to.equal(0);
    const project = join(directory, 'demo');

    const commands = readmeCommands(readFileSync(join(project, 'README.md'), 'utf8'));
    expect(commands.slice(0, 3)).to.deep.equal(['npm install', 'npm test', 'npm run typecheck']);
    // Every command as written; the cache settings only keep npm from asking the registry
    // about what its cache already has.
    const env = { ...process.env, npm_config_prefer_offline: 'true', npm_config_audit: 'false' };
    const outputs: string[] = [];
    for (const command of commands) {
      const { stdout } = await run('sh', ['-c', command], { cwd: project, env });
      outputs.push(stdout);
    }
    expect(outputs[1]).to.match(/\d+ passing/);
    expect(outputs[1]).to.not.match(/failing/);
    expect(outputs.at(-1)).to.include('"status":"success"').and.include('hello, Ada');

    // ergon-rx and the project see the same rxjs (two copies make marble tests fail silently).
    const fromProject = createRequire(join(project, 'package.json')).resolve('rxjs');
    const fromErgon = createRequire(join(project, 'node_modules/ergon-rx/package.json')).resolve(
      'rxjs',
    );
    expect(realpathSync(fromErgon)).to.equal(realpathSync(fromProject));
  });
});
