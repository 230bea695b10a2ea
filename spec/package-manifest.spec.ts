import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { optionalTelemetryPackages } from '../lib/telemetry/optional-package.js';

const root = fileURLToPath(new URL('../', import.meta.url));

interface Manifest {
  readonly engines: { readonly node: string };
  readonly dependencies: Readonly<Record<string, string>>;
  readonly devDependencies: Readonly<Record<string, string>>;
  readonly peerDependencies: Readonly<Record<string, string>>;
  readonly peerDependenciesMeta: Readonly<Record<string, { readonly optional?: boolean }>>;
}

const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as Manifest;

function sourceFiles(directory: string): string[] {
  return readdirSync(directory, { withFileTypes: true }).flatMap((entry) => {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** The package a bare specifier names (`@scope/name/sub` → `@scope/name`). */
function packageOf(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] as string);
}

/** Packages a file imports for their values (type-only imports leave nothing at run time). */
function valueImports(source: string): string[] {
  const statement = /^(?:import|export)\s+(type\s+)?(?:[^;]*?\sfrom\s+)?'([^']+)';/gm;
  const found: string[] = [];
  for (const match of source.matchAll(statement)) {
    const specifier = match[2] as string;
    if (match[1] !== undefined || specifier.startsWith('.') || specifier.startsWith('node:')) {
      continue;
    }
    found.push(packageOf(specifier));
  }
  return found;
}

const isBuiltin = (name: string): boolean => builtinModules.includes(name);
const installedWithErgon = (name: string): boolean =>
  name === 'ergon-rx' ||
  name in manifest.dependencies ||
  (name in manifest.peerDependencies && manifest.peerDependenciesMeta[name]?.optional !== true);

describe('package.json', () => {
  it('installs every package the core, telemetry, runner and CLI load (only connectors load drivers)', () => {
    const needed = new Set<string>();
    for (const file of sourceFiles(join(root, 'lib'))) {
      const path = relative(root, file);
      if (path.startsWith(join('lib', 'connectors'))) continue;
      for (const name of valueImports(readFileSync(file, 'utf8'))) {
        if (!isBuiltin(name)) needed.add(`${name} (${path})`);
      }
    }
    const missing = [...needed].filter((entry) => !installedWithErgon(entry.split(' ')[0] ?? ''));
    expect(missing).to.deep.equal([]);
  });

  it('lists each optional telemetry package as an optional peer at the version it names', () => {
    for (const [name, version] of Object.entries(optionalTelemetryPackages)) {
      expect(manifest.peerDependencies[name], name).to.equal(`~${version}`);
      expect(manifest.peerDependenciesMeta[name], name).to.deep.equal({ optional: true });
      expect(manifest.devDependencies[name], name).to.equal(version);
    }
  });

  /**
   * Two helpers of the optional Kafka driver (`@platformatic/kafka` 1.x, which declares Node
   * ≥ 20.19.4 itself) declare Node ≥ 22.19 in every version published; the Kafka specs, the
   * contract suite and the fault suite run them on Node 20. `npm ci` prints EBADENGINE for
   * them, and only for projects that install the driver (docs/connectors/kafka.md says so).
   */
  const knownEngineMismatches = new Set([
    'node_modules/@platformatic/dynamic-buffer',
    'node_modules/@platformatic/wasm-utils',
  ]);

  it('pins dependencies whose engines accept the Node versions it declares', () => {
    const tooNew: string[] = [];
    const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { engines?: { node?: string } | string[] }>;
    };
    for (const [path, entry] of Object.entries(lock.packages)) {
      if (knownEngineMismatches.has(path)) continue;
      const node = Array.isArray(entry.engines) ? undefined : entry.engines?.node;
      // The declared minimum is 20.19; a range that starts above Node 20 would warn EBADENGINE.
      if (node !== undefined && /(?:>=?\s*|\^|~)\s*v?2[1-9]/.test(node) && !/\|\|/.test(node)) {
        tooNew.push(`${path}: ${node}`);
      }
    }
    expect(manifest.engines.node).to.equal('>=20.19');
    expect(tooNew).to.deep.equal([]);
  });
});
