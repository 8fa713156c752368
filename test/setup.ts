import nock from 'nock';
import { afterEach, beforeAll, expect } from 'vitest';

// Strict HTTP mocking: no request reaches a real network host, an unmatched request fails, and an
// interceptor that was declared but never used fails the test that declared it. Loopback stays
// open for the end-to-end suites, which run real servers on 127.0.0.1.
beforeAll(() => {
  nock.disableNetConnect();
  nock.enableNetConnect(/^(127\.0\.0\.1|localhost|\[::1\])(:\d+)?$/);
});

const unmatched: string[] = [];
nock.emitter.on(
  'no match',
  (req: { method?: string; path?: string; host?: string; options?: { host?: string } }) => {
    const host = req.host ?? req.options?.host ?? '';
    if (/^(127\.0\.0\.1|localhost|\[::1\])(:\d+)?$/.test(host)) return;
    unmatched.push(`${req.method ?? '?'} ${host}${req.path ?? ''}`);
  },
);

afterEach(() => {
  const pending = nock.pendingMocks();
  const stray = unmatched.splice(0);
  nock.cleanAll();
  expect(stray, 'requests that matched no nock interceptor').toEqual([]);
  expect(pending, 'nock interceptors that were declared but never used').toEqual([]);
});
