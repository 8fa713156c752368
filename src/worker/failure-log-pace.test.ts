import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../test/fakes/fake-clock.js';
import { FailureLogPace, repeatWarnEveryMs } from './failure-log-pace.js';

describe('FailureLogPace', () => {
  it('warns of the first failure, then again only once the pace has passed', async () => {
    const clock = new FakeClock();
    const pace = new FailureLogPace(() => clock.monotonic());
    expect(pace.level()).toBe('warn');
    await clock.advance(repeatWarnEveryMs - 1);
    expect(pace.level()).toBe('debug');
    await clock.advance(1);
    expect(pace.level()).toBe('warn');
  });

  it('warns at once of a failure of another kind, and of the first failure after a success', () => {
    const clock = new FakeClock();
    const pace = new FailureLogPace(() => clock.monotonic());
    expect(pace.level('unreachable')).toBe('warn');
    expect(pace.level('unreachable')).toBe('debug');
    expect(pace.level('token refused')).toBe('warn');
    expect(pace.level('token refused')).toBe('debug');
    pace.succeeded();
    expect(pace.level('token refused')).toBe('warn');
  });
});
