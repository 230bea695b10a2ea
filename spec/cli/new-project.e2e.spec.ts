import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { runErgon } from './support/run-ergon.js';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../', import.meta.url));

/**
 * What a new user does: `ergon new demo && cd demo && npm install && npm test`, against this
 * repository packed as a tarball (the way it would be published). Needs the npm registry for
 * the scaffold's own dev dependencies.
 */
describe('ergon new, end to end against the packed package', function () {
  this.timeout(240_000);
  let directory: string;

  before(async () => {
    directory = mkdtempSync(join(tmpdir(), 'ergon-new-'));
    if (!existsSync(join(root, 'dist', 'cli', 'main.js'))) {
      await run('npm', ['run', '-s', 'build'], { cwd: root });
    }
  });

  after(() => rmSync(directory, { recursive: true, force: true }));

  it('scaffolds a project whose npm install && npm test pass', async () => {
    const { stdout: packed } = await run(
      'npm',
      ['pack', '--ignore-scripts', '--silent', '--pack-destination', directory],
      { cwd: root },
    );
    const tarball = join(directory, packed.trim().split('\n').pop() as string);
    const project = join(directory, 'demo');
    const created = await runErgon(['new', project]);
    expect(created.code, created.stderr).to.equal(0);

    const manifestPath = join(project, 'package.json');
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as {
      dependencies: Record<string, string>;
    };
    expect(manifest.dependencies['ergon-rx']).to.match(/^\^/);
    manifest.dependencies['ergon-rx'] = `file:${tarball}`;
    writeFileSync(manifestPath, JSON.stringify(manifest, null, 2));

    await run('npm', ['install', '--no-audit', '--no-fund'], { cwd: project });
    const tests = await run('npm', ['test'], { cwd: project });
    expect(tests.stdout).to.match(/\d+ passing/);
    expect(tests.stdout).to.not.match(/failing/);
    const typecheck = await run('npm', ['run', '-s', 'typecheck'], { cwd: project });
    expect(typecheck.stderr).to.equal('');
  });
});
