// Type-checks every TypeScript code block of README.md and docs/**/*.md: each block becomes a
// module in .doc-snippets/ (generated, git-ignored) compiled with the project's strict
// settings against the built package (`ergon-rx` resolves to dist/ through the package's own
// exports map, as it does for users; run `npm run build` first). Errors are reported at the
// Markdown line they come from. A block that is a fragment (it uses names an earlier block
// or the surrounding text defines) opts out with this comment on the line before its fence:
//
//   <!-- snippet: fragment -->
//
// Usage: node scripts/check-doc-snippets.js
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, '.doc-snippets');
const fragmentMarker = '<!-- snippet: fragment -->';

function markdownFiles(directory) {
  return readdirSync(directory, { withFileTypes: true }).flatMap((entry) => {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) return markdownFiles(path);
    return entry.name.endsWith('.md') ? [path] : [];
  });
}

/** The TypeScript blocks of a Markdown text: their code and the line of their first code line. */
function typescriptBlocks(text) {
  const lines = text.split('\n');
  const blocks = [];
  let open;
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index];
    if (open === undefined) {
      const fence = /^(\s*)(```+)\s*(ts|typescript)\s*$/.exec(line);
      if (fence === null) continue;
      let previous = index - 1;
      while (previous >= 0 && lines[previous].trim() === '') previous--;
      const fragment = previous >= 0 && lines[previous].trim() === fragmentMarker;
      open = { indent: fence[1].length, fence: fence[2], start: index + 2, code: [], fragment };
    } else if (line.trim() === open.fence) {
      blocks.push(open);
      open = undefined;
    } else {
      open.code.push(line.slice(Math.min(open.indent, line.search(/\S|$/))));
    }
  }
  return blocks;
}

if (!existsSync(join(root, 'dist', 'index.d.ts'))) {
  console.error('check-doc-snippets: no dist/ to check against; run npm run build first');
  process.exit(2);
}
rmSync(out, { recursive: true, force: true });
mkdirSync(out);

const sources = new Map(); // snippet file → { markdown, start }
let fragments = 0;
for (const file of [join(root, 'README.md'), ...markdownFiles(join(root, 'docs'))]) {
  const markdown = relative(root, file);
  typescriptBlocks(readFileSync(file, 'utf8')).forEach((block, index) => {
    if (block.fragment) {
      fragments++;
      return;
    }
    const name = `${markdown.replace(/[\\/]/g, '__').replace(/\.md$/, '')}__${index + 1}.ts`;
    // `export {}` makes a block without imports a module too (top-level await, own scope).
    writeFileSync(join(out, name), `${block.code.join('\n')}\nexport {};\n`);
    sources.set(name, { markdown, start: block.start });
  });
}

writeFileSync(
  join(out, 'tsconfig.json'),
  `${JSON.stringify(
    {
      extends: '../tsconfig.json',
      compilerOptions: {
        noEmit: true,
        rootDir: '.',
        types: ['node', 'mocha'],
        // Examples may import a name only to show where it comes from.
        noUnusedLocals: false,
      },
      include: ['*.ts'],
    },
    null,
    2,
  )}\n`,
);

const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
const result = spawnSync(
  process.execPath,
  [tsc, '-p', join(out, 'tsconfig.json'), '--pretty', 'false'],
  {
    cwd: root,
    encoding: 'utf8',
  },
);
const report = `${result.stdout}${result.stderr}`
  .split('\n')
  .filter((line) => line.trim() !== '')
  .map((line) => {
    const at = /^\.doc-snippets[\\/]([^(]+)\((\d+),(\d+)\): (.*)$/.exec(line);
    const source = at === null ? undefined : sources.get(at[1]);
    if (at === null || source === undefined) return line;
    return `${source.markdown}:${source.start + Number(at[2]) - 1}:${at[3]}: ${at[4]}`;
  });
const blocks = sources.size;
if (result.status !== 0) {
  console.error(report.join('\n'));
  console.error(`doc snippets: type errors in the TypeScript blocks above (${blocks} checked)`);
  process.exit(1);
}
console.log(
  `doc snippets ok: ${blocks} TypeScript blocks type-check, ${fragments} marked fragments`,
);
