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
export interface ScaffoldVersions {
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
