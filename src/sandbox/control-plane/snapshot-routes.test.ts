import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeRandom } from '../../../test/fakes/fake-random.js';
import {
  paths,
  ProtocolErrorBody,
  SnapshotCreateResponse,
  type SnapshotCreateRequest,
} from '../../control-plane/protocol.js';
import {
  callers,
  registerSession,
  type Call,
  type TestSession,
} from '../../../test/kits/control-plane-http-test-kit.js';
import { startReferenceControlPlane, type ReferenceControlPlane } from './reference-control-plane.js';

const enrollmentToken = 'enroll-secret';
const connectorId = 'conn-1';

let plane: ReferenceControlPlane;
let protocol: Call;
let session: TestSession;

beforeEach(async () => {
  plane = await startReferenceControlPlane({ enrollmentToken, random: new FakeRandom() });
  protocol = callers(plane).protocol;
  session = await registerSession(protocol, enrollmentToken, { connectorId });
});

afterEach(async () => {
  await plane.close();
});

function ndjson(records: readonly object[]): string {
  return records.map((record) => `${JSON.stringify(record)}\n`).join('');
}

function describeContent(parts: readonly string[], generation: number): SnapshotCreateRequest {
  const content = parts.join('');
  return {
    integrationId: 'int-1',
    jobId: 'job-1',
    generation,
    contentSha256: createHash('sha256').update(content).digest('hex'),
    parts: parts.length,
    sizeBytes: Buffer.byteLength(content),
  };
}

async function create(request: SnapshotCreateRequest, connector = connectorId) {
  return protocol('POST', paths.snapshots(connector), { token: session.accessToken, body: request });
}

async function putPart(snapshotId: string, part: number, text: string, contentType = 'application/gzip') {
  return protocol('PUT', paths.snapshotPart(connectorId, snapshotId, part), {
    token: session.accessToken,
    rawBody: gzipSync(text),
    headers: { 'content-type': contentType },
  });
}

async function commit(snapshotId: string) {
  return protocol('POST', paths.snapshotCommit(connectorId, snapshotId), {
    token: session.accessToken,
    body: {},
  });
}

/** Creates, uploads and commits; returns the snapshot id. */
async function upload(parts: readonly string[], generation: number): Promise<string> {
  const { snapshotId } = SnapshotCreateResponse.parse(
    (await create(describeContent(parts, generation))).body,
  );
  for (const [index, text] of parts.entries()) await putPart(snapshotId, index + 1, text);
  const committed = await commit(snapshotId);
  if (committed.status !== 200) throw new Error(`commit answered ${committed.status}`);
  return snapshotId;
}

function errorOf(answer: { status: number; body: unknown }): [number, string] {
  return [answer.status, ProtocolErrorBody.parse(answer.body).error.code];
}

describe('discovery snapshots', () => {
  it('stores a committed multi-part snapshot as decoded NDJSON lines', async () => {
    const parts = [ndjson([{ kind: 'project', id: 'p1' }]), ndjson([{ kind: 'cluster', name: 'c1' }])];
    const snapshotId = await upload(parts, 1);
    expect(plane.store.snapshots('int-1')).toMatchObject([
      {
        snapshotId,
        generation: 1,
        status: 'committed',
        records: [
          { kind: 'project', id: 'p1' },
          { kind: 'cluster', name: 'c1' },
        ],
      },
    ]);
  });

  it('tells the connector to skip an upload whose hash equals the last committed one', async () => {
    const parts = [ndjson([{ kind: 'project', id: 'p1' }])];
    await upload(parts, 1);
    const again = await create(describeContent(parts, 2));
    const changed = await create(describeContent([ndjson([{ kind: 'project', id: 'p2' }])], 2));

    expect([again.status, SnapshotCreateResponse.parse(again.body).skip]).toEqual([201, true]);
    expect(SnapshotCreateResponse.parse(changed.body).skip).toBe(false);
  });

  it('refuses a generation older than the last committed one, at create and at commit', async () => {
    const older = SnapshotCreateResponse.parse((await create(describeContent([ndjson([{ v: 1 }])], 1))).body);
    await putPart(older.snapshotId, 1, ndjson([{ v: 1 }]));
    await upload([ndjson([{ v: 2 }])], 2);

    expect(errorOf(await commit(older.snapshotId))).toEqual([409, 'stale_generation']);
    expect(errorOf(await create(describeContent([ndjson([{ v: 3 }])], 1)))).toEqual([
      409,
      'stale_generation',
    ]);
  });

  it('fences by the generation a skip confirmed: an older open attempt and an older create are refused', async () => {
    const unchanged = [ndjson([{ v: 1 }])];
    await upload(unchanged, 4);
    const zombie = SnapshotCreateResponse.parse(
      (await create(describeContent([ndjson([{ v: 2 }])], 5))).body,
    );
    await putPart(zombie.snapshotId, 1, ndjson([{ v: 2 }]));
    const confirmed = await create(describeContent(unchanged, 6));

    expect(SnapshotCreateResponse.parse(confirmed.body).skip).toBe(true);
    expect(errorOf(await commit(zombie.snapshotId))).toEqual([409, 'stale_generation']);
    expect(errorOf(await create(describeContent(unchanged, 5)))).toEqual([409, 'stale_generation']);
  });

  it('refuses to commit parts that do not hash to contentSha256 or leave a part out', async () => {
    const request = describeContent([ndjson([{ v: 1 }]), ndjson([{ v: 2 }])], 1);
    const { snapshotId } = SnapshotCreateResponse.parse((await create(request)).body);
    await putPart(snapshotId, 1, ndjson([{ v: 1 }]));
    const missing = await commit(snapshotId);
    await putPart(snapshotId, 2, ndjson([{ v: 'tampered' }]));
    const mismatch = await commit(snapshotId);

    expect(errorOf(missing)).toEqual([422, 'invalid_request']);
    expect(errorOf(mismatch)).toEqual([422, 'invalid_request']);
    expect(plane.store.snapshots()).toEqual([]);
  });

  it('only takes gzip parts numbered within the announced count, for its own connector', async () => {
    const { snapshotId } = SnapshotCreateResponse.parse(
      (await create(describeContent([ndjson([{ v: 1 }])], 1))).body,
    );
    expect(errorOf(await putPart(snapshotId, 1, '{}', 'application/json'))).toEqual([415, 'invalid_request']);
    expect(errorOf(await putPart(snapshotId, 2, '{}'))).toEqual([400, 'invalid_request']);
    expect(errorOf(await create(describeContent(['x'], 1), 'someone-else'))).toEqual([404, 'not_found']);
  });

  it('answers 413 to a part over 5 MiB and 405 to a known path with the wrong method', async () => {
    const { snapshotId } = SnapshotCreateResponse.parse(
      (await create(describeContent([ndjson([{ v: 1 }])], 1))).body,
    );
    const huge = await protocol('PUT', paths.snapshotPart(connectorId, snapshotId, 1), {
      token: session.accessToken,
      rawBody: new Uint8Array(5 * 1024 * 1024 + 1),
      headers: { 'content-type': 'application/gzip' },
    });
    const wrongMethod = await protocol('GET', paths.snapshotCommit(connectorId, snapshotId), {
      token: session.accessToken,
    });

    expect(errorOf(huge)).toEqual([413, 'invalid_request']);
    expect(errorOf(wrongMethod)).toEqual([405, 'invalid_request']);
  });
});
