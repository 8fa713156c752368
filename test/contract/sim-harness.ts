import {
  startAtlasSimulator,
  type AtlasSimulator,
  type AtlasSimulatorOptions,
} from '../../src/sandbox/atlas/index.js';
import { FakeClock } from '../fakes/fake-clock.js';
import { FakeRandom } from '../fakes/fake-random.js';
import { DigestClient } from './digest-client.js';

/** The default key every simulator test uses (Atlas public keys are 8 lowercase letters). */
export const testKey = { publicKey: 'testpubk', privateKey: '9a7c1e2b-0000-4000-8000-00000000c0de' } as const;
export const testServiceAccount = {
  clientId: 'mdb_sa_id_6607000000000000000000aa',
  clientSecret: 'mdb_sa_sk_test-secret',
} as const;

export interface Harness {
  readonly sim: AtlasSimulator;
  readonly clock: FakeClock;
  readonly client: DigestClient;
  close(): Promise<void>;
}

/** A simulator on a FakeClock with the default fixture, one API key and one service account. */
export async function startHarness(
  options: Partial<Omit<AtlasSimulatorOptions, 'clock'>> & { clock?: FakeClock } = {},
): Promise<Harness> {
  const clock = options.clock ?? new FakeClock();
  const sim = await startAtlasSimulator({
    ...testKey,
    serviceAccounts: [testServiceAccount],
    random: new FakeRandom(),
    ...options,
    clock,
  });
  const client = new DigestClient(sim.url, testKey.publicKey, testKey.privateKey);
  return { sim, clock, client, close: () => sim.close() };
}

/** A valid temporary SCRAM user for project `groupId`, to tweak per test. */
export function dbUserBody(
  groupId: string,
  overrides: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    groupId,
    databaseName: 'admin',
    username: 'jit-alice-1',
    password: 'correct-horse-battery',
    roles: [{ roleName: 'read', databaseName: 'sales' }],
    scopes: [{ name: 'Cluster0', type: 'CLUSTER' }],
    labels: [{ key: 'jit-grant', value: 'g-1' }],
    description: 'JIT grant g-1',
    ...overrides,
  };
}

export const hourMs = 3_600_000;
export const dayMs = 24 * hourMs;

export function isoIn(clock: FakeClock, ms: number): string {
  return new Date(clock.now() + ms).toISOString();
}
