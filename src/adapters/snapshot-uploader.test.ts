import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { ConnectorError } from '../errors/connector-error.js';
import { FakeClock } from '../../test/fakes/fake-clock.js';
import { FakeRandom } from '../../test/fakes/fake-random.js';
import { canonicalJson, createSnapshotUploader, planParts, SnapshotLines } from './snapshot-uploader.js';

interface Created {
  readonly contentSha256: string;
  readonly parts: number;
  readonly sizeBytes: number;
}

/** A control plane that keeps what it was sent and answers `skip` for a hash it already committed. */
function fakeControlPlane(committedHash?: string) {
  const created: Created[] = [];
  const parts: Buffer[] = [];
  let committed = 0;
  const client = {
    createSnapshot: (_connector: string, request: Created) => {
      created.push(request);
      return Promise.resolve({ snapshotId: 'snap-1', skip: request.contentSha256 === committedHash });
    },
    putSnapshotPart: (_connector: string, _id: string, part: number, body: Buffer) => {
      if (part !== parts.length + 1) throw new Error(`part ${part} out of order`);
      parts.push(gunzipSync(body));
      return Promise.resolve();
    },
    commitSnapshot: () => {
      committed += 1;
      return Promise.resolve();
    },
  };
  return { client, created, parts, committed: () => committed };
}

const job = { integrationId: 'int-1', jobId: 'job-1', generation: 3 };
const records = [
  { type: 'subIntegration', id: 'b', nested: { z: 1, a: [2, 'é'] } },
  { id: 'a', type: 'subIntegration', skipped: undefined },
  { type: 'project', id: 'c', reason: 'x'.repeat(40) },
];
const expectedText = `${records.map(canonicalJson).sort().join('\n')}\n`;
const sha = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

describe('createSnapshotUploader', () => {
  it('hashes and sends the sorted canonical NDJSON, the same from records or from lines', async () => {
    const fromRecords = fakeControlPlane();
    await createSnapshotUploader(fromRecords.client as never, 'c-1').upload({ ...job, records });
    const lines = new SnapshotLines();
    for (const record of [...records].reverse()) lines.add(record);
    const fromLines = fakeControlPlane();
    const result = await createSnapshotUploader(fromLines.client as never, 'c-1').upload({ ...job, lines });

    for (const sent of [fromRecords, fromLines]) {
      expect(sent.created).toEqual([
        expect.objectContaining({
          contentSha256: sha(expectedText),
          parts: 1,
          sizeBytes: Buffer.byteLength(expectedText),
        }),
      ]);
      expect(Buffer.concat(sent.parts).toString('utf8')).toBe(expectedText);
      expect(sent.committed()).toBe(1);
    }
    expect(result).toEqual({ snapshotId: 'snap-1', skipped: false, sha256: sha(expectedText), lines: 3 });
  });

  it('splits a snapshot larger than a part on line boundaries, each part within the limit', async () => {
    const sent = fakeControlPlane();
    const limit = 120;
    await createSnapshotUploader(sent.client as never, 'c-1', { maxPartBytes: limit }).upload({
      ...job,
      records,
    });
    expect(sent.parts.length).toBeGreaterThan(1);
    expect(sent.created[0]?.parts).toBe(sent.parts.length);
    for (const part of sent.parts) {
      expect(part.length).toBeLessThanOrEqual(limit);
      expect(part.at(-1)).toBe(0x0a);
    }
    expect(Buffer.concat(sent.parts).toString('utf8')).toBe(expectedText);
  });

  it('sends nothing but the create call when the control plane already holds that content', async () => {
    const sent = fakeControlPlane(sha(expectedText));
    const result = await createSnapshotUploader(sent.client as never, 'c-1').upload({ ...job, records });
    expect(result.skipped).toBe(true);
    expect(sent.parts).toEqual([]);
    expect(sent.committed()).toBe(0);
  });

  it('uploads an empty snapshot as one empty part', async () => {
    const sent = fakeControlPlane();
    await createSnapshotUploader(sent.client as never, 'c-1').upload({ ...job, records: [] });
    expect(sent.created[0]).toMatchObject({ parts: 1, sizeBytes: 0, contentSha256: sha('') });
    expect(sent.parts.map((part) => part.length)).toEqual([0]);
  });
});

describe('the upload on a blip', () => {
  const blip = () => new ConnectorError({ code: 'upstream_unavailable', message: 'connection reset' });

  /** Fails each part's first try and the commit's first `commitFailures` tries with `error`. */
  function flaky(error: () => ConnectorError, commitFailures: number) {
    const sent = fakeControlPlane();
    const tried = new Set<number>();
    let commits = 0;
    const client = {
      ...sent.client,
      putSnapshotPart: (connector: string, id: string, part: number, body: Buffer) => {
        if (!tried.has(part)) {
          tried.add(part);
          return Promise.reject(error());
        }
        return sent.client.putSnapshotPart(connector, id, part, body);
      },
      commitSnapshot: () => {
        commits += 1;
        return commits <= commitFailures ? Promise.reject(error()) : sent.client.commitSnapshot();
      },
    };
    return { sent, client, commits: () => commits };
  }

  async function uploadWithRetry(client: unknown) {
    const clock = new FakeClock();
    const uploader = createSnapshotUploader(client as never, 'c-1', {
      maxPartBytes: 64,
      retry: { clock, random: new FakeRandom([0.5]) },
    });
    const done = uploader.upload({ ...job, records }).then(
      (result) => ({ result }),
      (error: unknown) => ({ error }),
    );
    let outcome: Awaited<typeof done> | undefined;
    void done.then((value) => (outcome = value));
    for (let waited = 0; outcome === undefined && waited < 60_000; waited += 100) await clock.advance(100);
    return done;
  }

  it('sends a part or the commit again after a retryable failure, so one reset does not redo the discovery', async () => {
    const { sent, client, commits } = flaky(blip, 2);
    const outcome = await uploadWithRetry(client);
    expect(outcome).toMatchObject({ result: { skipped: false } });
    expect(sent.created[0]?.parts).toBeGreaterThan(1);
    expect(Buffer.concat(sent.parts).toString('utf8')).toBe(expectedText);
    expect(commits()).toBe(3);
    expect(sent.committed()).toBe(1);
  });

  it('does not send again what the control plane refused for good', async () => {
    const refused = () =>
      new ConnectorError({ code: 'conflict', message: 'stale_generation: a newer snapshot is committed' });
    const { sent, client } = flaky(refused, 0);
    const outcome = await uploadWithRetry(client);
    expect(outcome).toMatchObject({ error: { code: 'conflict' } });
    expect(sent.parts).toEqual([]);
  });
});

describe('planParts', () => {
  it('packs whole lines up to the limit and cuts only a line longer than a part', () => {
    expect(planParts([4, 4, 4], 8)).toEqual([
      { from: 0, to: 2 },
      { from: 2, to: 3 },
    ]);
    expect(planParts([3, 10, 3], 4)).toEqual([
      { from: 0, to: 1 },
      { line: 1, start: 0, end: 4 },
      { line: 1, start: 4, end: 8 },
      { line: 1, start: 8, end: 10 },
      { from: 2, to: 3 },
    ]);
    expect(planParts([], 8)).toEqual([{ from: 0, to: 0 }]);
  });
});
