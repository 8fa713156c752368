import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../../test/fakes/fake-clock.js';
import { FakeRandom } from '../../../test/fakes/fake-random.js';
import { SnapshotStore } from './snapshot-store.js';

describe('SnapshotStore', () => {
  it('refuses a snapshot whose parts decode to more than its total cap, though each part is small', () => {
    const store = new SnapshotStore({
      clock: new FakeClock(),
      random: new FakeRandom(),
      maxDecodedBytes: 1_000,
    });
    const parts = [`${'a'.repeat(599)}\n`, `${'b'.repeat(599)}\n`];
    const content = parts.join('');
    const { snapshotId } = store.create('c1', {
      integrationId: 'int-1',
      jobId: 'job-1',
      generation: 1,
      contentSha256: createHash('sha256').update(content).digest('hex'),
      parts: parts.length,
      sizeBytes: content.length,
    });
    parts.forEach((text, i) => store.putPart('c1', snapshotId, i + 1, gzipSync(text)));
    expect(() => store.commit('c1', snapshotId)).toThrow(/part 2 takes the snapshot over 1000 bytes decoded/);
  });
});
