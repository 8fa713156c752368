import { describe, expect, it } from 'vitest';
import { ConnectorError } from '../../../errors/connector-error.js';
import { FakeClock } from '../../../../test/fakes/fake-clock.js';
import { FakeRandom } from '../../../../test/fakes/fake-random.js';
import { captureLogs } from '../../../../test/fakes/log-capture.js';
import { convergingCreate, createTries, describeUser } from './user-store.js';

describe('describeUser', () => {
  it('stays within Atlas’s 100 characters without cutting a character in two', () => {
    // "JIT access for " is 15 characters: the 43rd emoji's halves would sit at 99 and 100.
    const description = describeUser({ id: 'u-1', name: `${'\u{1F600}'.repeat(60)}` });
    expect(description.length).toBeLessThanOrEqual(100);
    expect(/\p{Surrogate}/u.test(description)).toBe(false);
    expect(describeUser({ id: 'u-1', email: 'alice@example.com' })).toBe(
      'JIT access for alice@example.com (atlas-jit-connector)',
    );
  });
});

describe('convergingCreate', () => {
  const unavailable = (retryAfterMs: number) =>
    new ConnectorError({
      code: 'upstream_unavailable',
      message: 'createGroupDatabaseUser: SERVICE_UNAVAILABLE: maintenance',
      retryAfterMs,
      details: { httpStatus: 503 },
    });

  it('waits at most its backoff cap for a 503 Retry-After, and ends with Atlas’s whole hint', async () => {
    const clock = new FakeClock();
    const logs = captureLogs();
    const dayMs = 86_400_000;
    let sends = 0;
    const create = () => {
      sends += 1;
      return Promise.reject(unavailable(dayMs));
    };
    const ctx = { signal: new AbortController().signal, log: logs.logger, beforeSideEffect: () => undefined };

    const outcome = convergingCreate({ clock, random: new FakeRandom([0.5]) }, ctx, create).catch(
      (error: unknown) => error,
    );
    // A minute covers every capped wait; a create honouring the day-long hint would still be asleep.
    await clock.advance(60_000);

    expect(sends).toBe(createTries);
    await expect(outcome).resolves.toMatchObject({ code: 'upstream_unavailable', retryAfterMs: dayMs });
    const waits = logs
      .lines()
      .filter((line) => line.msg === 'create failed without an answer; trying again, 409 converges')
      .map((line) => line.delayMs as number);
    expect(waits).toHaveLength(createTries - 1);
    for (const wait of waits) expect(wait).toBeLessThanOrEqual(8_000);
  });
});
