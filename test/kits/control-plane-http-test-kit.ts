import { basePath, paths, RegisterResponse, type RegisterRequest } from '../../src/control-plane/protocol.js';
import {
  startReferenceControlPlane,
  type ReferenceControlPlane,
  type ReferenceControlPlaneOptions,
} from '../../src/sandbox/control-plane/reference-control-plane.js';
import { FakeClock, settleUntil } from '../fakes/fake-clock.js';
import { FakeRandom } from '../fakes/fake-random.js';

/** Helpers for tests that talk to a reference control plane over loopback with `fetch`. */
export interface CallOptions {
  readonly body?: unknown;
  readonly rawBody?: Uint8Array | string;
  readonly token?: string;
  readonly headers?: Record<string, string>;
  readonly signal?: AbortSignal;
}

export interface CallResult {
  readonly status: number;
  readonly body: unknown;
  readonly headers: Headers;
}

export type Call = (method: string, path: string, options?: CallOptions) => Promise<CallResult>;

/** Calls below `/connector/v1` (`protocol`) or the server root (`admin`). */
export function callers(plane: Pick<ReferenceControlPlane, 'url'>): { protocol: Call; admin: Call } {
  const call =
    (prefix: string): Call =>
    async (method, path, options = {}) => {
      const headers: Record<string, string> = { ...options.headers };
      if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
      let body: string | Uint8Array | undefined;
      if (options.rawBody !== undefined) body = options.rawBody;
      else if (options.body !== undefined) {
        body = JSON.stringify(options.body);
        headers['content-type'] = 'application/json';
      }
      const response = await fetch(`${plane.url}${prefix}${path}`, {
        method,
        headers,
        body,
        ...(options.signal ? { signal: options.signal } : {}),
      });
      const text = await response.text();
      return {
        status: response.status,
        body: text.length > 0 ? JSON.parse(text) : undefined,
        headers: response.headers,
      };
    };
  return { protocol: call(basePath), admin: call('') };
}

export function registration(overrides: Partial<RegisterRequest> = {}): RegisterRequest {
  return {
    connectorId: 'conn-1',
    instanceId: 'pod-uid-1:boot-1',
    version: '0.1.0',
    protocol: 1,
    capacity: { maxJobs: 4 },
    features: [],
    jobTypes: [],
    startedAt: '2026-11-24T12:00:00.000Z',
    ...overrides,
  };
}

export interface TestSession {
  readonly sessionId: string;
  readonly accessToken: string;
}

export async function registerSession(
  protocol: Call,
  enrollmentToken: string,
  overrides: Partial<RegisterRequest> = {},
): Promise<TestSession> {
  const answer = await protocol('POST', paths.register, {
    token: enrollmentToken,
    body: registration(overrides),
  });
  if (answer.status !== 201)
    throw new Error(`register answered ${answer.status}: ${JSON.stringify(answer.body)}`);
  const { sessionId, accessToken } = RegisterResponse.parse(answer.body);
  return { sessionId, accessToken };
}

/** Resolves once `condition` holds, checking after each turn of the event loop (bounded by wall time). */
export async function eventually(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  await settleUntil(condition, what, timeoutMs);
}

export interface TestPlane {
  readonly plane: ReferenceControlPlane;
  readonly clock: FakeClock;
  readonly protocol: Call;
  readonly admin: Call;
  readonly session: TestSession;
}

/**
 * A reference control plane on a fake clock (and `FakeRandom` unless given), with one session
 * registered with `enrollmentToken`. The caller closes `plane`.
 */
export async function startTestPlane(
  enrollmentToken: string,
  options: Omit<ReferenceControlPlaneOptions, 'enrollmentToken' | 'clock'> = {},
): Promise<TestPlane> {
  const clock = new FakeClock();
  const plane = await startReferenceControlPlane({
    random: new FakeRandom(),
    ...options,
    enrollmentToken,
    clock,
  });
  const { protocol, admin } = callers(plane);
  return { plane, clock, protocol, admin, session: await registerSession(protocol, enrollmentToken) };
}
