// npm's `prepare` script: builds dist/ so that `npm install` (or `npm ci`) in a fresh clone
// leaves a working `ergon` bin (`npx ergon --help`). A packed copy (the published package, or
// a tarball installed with `file:`, for which npm may run `prepare` too) ships dist/ and no
// sources: nothing to do. When TypeScript is not installed (`npm install --omit=dev`) there is
// nothing to build with, so it says so and stops.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
if (!existsSync(join(root, 'tsconfig.build.json'))) process.exit(0);
let tsc;
try {
  tsc = join(
    dirname(createRequire(import.meta.url).resolve('typescript/package.json')),
    'bin',
    'tsc',
  );
} catch {
  console.warn(
    'ergon-rx prepare: TypeScript is not installed (dev dependencies omitted); dist/ not built',
  );
  process.exit(0);
}
const build = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], {
  cwd: root,
  stdio: 'inherit',
});
process.exit(build.status ?? 1);
