import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  checkDockerfile,
  runtimeCopySources,
  stagesOf,
  parseDockerfile,
  unpinnedReason,
} from './dockerfile-check.js';
import { checkDockerignore, DockerIgnore } from './dockerignore.js';
import { formatProblem } from './problem.js';
import { productionMallocArenaMax, productionNodeOptions } from '../../bench/worker/daemon-process.js';

const root = join(import.meta.dirname, '../..');
const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');
const dockerignore = readFileSync(join(root, '.dockerignore'), 'utf8');

const problemsAfter = (from: string | RegExp, to: string) => {
  const planted = dockerfile.replace(from, to);
  expect(planted, 'the planted change must change the Dockerfile').not.toBe(dockerfile);
  return checkDockerfile(planted).map(formatProblem);
};

describe('the shipped Dockerfile', () => {
  it('passes every Dockerfile check', () => {
    expect(checkDockerfile(dockerfile).map(formatProblem)).toEqual([]);
  });

  it('runs the daemon with the V8 flags and malloc settings the benchmarks measure it with', () => {
    const runtime = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
    const env = (name: string): string | undefined => {
      const match = new RegExp(`^\\s*${name}=(?:"([^"]*)"|(\\S+))`, 'm').exec(runtime);
      return match?.[1] ?? match?.[2];
    };
    expect(env('NODE_OPTIONS'), 'the runtime stage sets NODE_OPTIONS').toBe(productionNodeOptions);
    expect(env('MALLOC_ARENA_MAX'), 'the runtime stage sets MALLOC_ARENA_MAX').toBe(productionMallocArenaMax);
  });

  it('builds on pinned Node 24 images and runs on distroless as a non-root user', () => {
    const stages = stagesOf(parseDockerfile(dockerfile));
    expect(stages.map((s) => [s.name, s.image])).toEqual([
      ['build', 'node:24.21.0-trixie-slim'],
      ['prod-deps', 'node:24.21.0-trixie-slim'],
      ['runtime', 'gcr.io/distroless/nodejs24-debian13:nonroot'],
    ]);
  });

  it('copies exactly the files the runtime needs into the runtime stage', () => {
    expect(runtimeCopySources(dockerfile)).toEqual([
      'prod-deps:/app/node_modules',
      'build:/app/dist/src',
      'package.json',
      'package-lock.json',
    ]);
  });

  it('has a .dockerignore that keeps secrets and non-runtime files out of the context', () => {
    expect(checkDockerignore(dockerignore, dockerfile).map(formatProblem)).toEqual([]);
  });
});

describe('the Dockerfile check, on a planted error,', () => {
  it('reports a base image on a floating tag', () => {
    expect(problemsAfter('ARG NODE_VERSION=24.21.0', 'ARG NODE_VERSION=24')).toContainEqual(
      expect.stringContaining('base image "node:24-trixie-slim" tag "24-trixie-slim" floats'),
    );
  });

  it('reports a runtime user that is a name rather than a number', () => {
    expect(problemsAfter('USER 65532:65532', 'USER nonroot')).toContainEqual(
      expect.stringContaining('USER "nonroot" must be numeric'),
    );
  });

  it('reports a runtime stage that runs as root', () => {
    expect(problemsAfter('USER 65532:65532', 'USER 0:0')).toContainEqual(
      expect.stringContaining('USER must not be 0'),
    );
  });

  it('reports a shell-form entrypoint', () => {
    expect(
      problemsAfter(
        'ENTRYPOINT ["/nodejs/bin/node", "/app/dist/src/cli.js"]',
        'ENTRYPOINT node /app/dist/src/cli.js',
      ),
    ).toContainEqual(expect.stringContaining('ENTRYPOINT must use the exec form'));
  });

  it('reports production dependencies installed without --omit=dev', () => {
    expect(
      problemsAfter('RUN npm ci --omit=dev --ignore-scripts', 'RUN npm ci --ignore-scripts'),
    ).toContainEqual(expect.stringContaining('npm ci --omit=dev'));
  });

  it('reports a runtime stage that copies the whole build context', () => {
    expect(problemsAfter('COPY package.json package-lock.json ./\n\n#', 'COPY . ./\n\n#')).toContainEqual(
      expect.stringContaining('copies the whole build context'),
    );
  });
});

describe('unpinnedReason', () => {
  it.each([
    ['node', 'has no tag (implicitly :latest)'],
    ['node:latest', 'uses the floating tag "latest"'],
    ['node:lts-slim', 'uses the floating tag "lts-slim"'],
    ['node:24-slim', 'tag "24-slim" floats (pin a full x.y.z version)'],
    ['node:24.21-slim', 'tag "24.21-slim" floats (pin a full x.y.z version)'],
    ['debian:bookworm-slim', 'tag "bookworm-slim" carries no version'],
    ['registry.local:5000/node', 'has no tag (implicitly :latest)'],
  ])('rejects %s', (image, reason) => {
    expect(unpinnedReason(image)).toBe(reason);
  });

  it.each([
    'node:24.21.0-trixie-slim',
    'gcr.io/distroless/nodejs24-debian13:nonroot',
    `node:24@sha256:${'a'.repeat(64)}`,
    'registry.local:5000/node:24.21.0',
  ])('accepts %s', (image) => {
    expect(unpinnedReason(image)).toBeUndefined();
  });
});

describe('DockerIgnore', () => {
  it('applies the last matching pattern, with ! re-including and parent directories matching', () => {
    const ignore = new DockerIgnore('*\n!src\n**/*.test.ts\n');
    expect(['src/a.ts', 'src/a.test.ts', 'test/x.ts', '.env'].map((p) => ignore.ignores(p))).toEqual([
      false,
      true,
      true,
      true,
    ]);
  });

  it('reports a .dockerignore that lets .env files and tests through', () => {
    const problems = checkDockerignore('node_modules\ndist\n.git\n', dockerfile).map(formatProblem);
    expect(problems).toEqual(
      expect.arrayContaining([
        '[dockerignore] .dockerignore: does not exclude .env',
        '[dockerignore] .dockerignore: does not exclude test/setup.ts',
      ]),
    );
  });

  it('reports a .dockerignore that excludes what the build copies', () => {
    const problems = checkDockerignore(`${dockerignore}\nsrc\n`, dockerfile).map(formatProblem);
    expect(problems).toContainEqual(expect.stringContaining('excludes src, which the Dockerfile copies'));
  });
});
