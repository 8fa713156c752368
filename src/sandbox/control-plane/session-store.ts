import { timingSafeEqual } from 'node:crypto';
import type {
  ConnectorState,
  HeartbeatAction,
  HeartbeatRequest,
  HeartbeatResponse,
  Intervals,
  LeaseRef,
  RegisterRequest,
} from '../../control-plane/protocol.js';
import type { Clock } from '../../runtime/clock.js';
import type { Random } from '../../runtime/random.js';
import { canonicalJson } from './canonical-json.js';
import { protocolError } from './protocol-errors.js';
import type { Settings } from './types.js';

const rememberedClaimsPerSession = 64;

export interface ClaimedLease {
  readonly jobId: string;
  readonly leaseId: string;
}

export interface SessionRecord {
  readonly sessionId: string;
  readonly registration: RegisterRequest;
  readonly registeredAt: string;
  state: ConnectorState;
  inFlight: LeaseRef[];
  outboxDepth: number;
  freeSlots: number;
  lastHeartbeatAt: string | null;
  deregisteredAt: string | null;
  token: string | undefined;
  /** Monotonic ms. */
  tokenExpiresAt: number;
  pendingActions: HeartbeatAction[];
  /** leaseId → jobId, asked of the session by an operator until the lease ends. */
  readonly releaseRequests: Map<string, string>;
  /** Claim `Idempotency-Key` → the leases that claim handed out. */
  readonly claims: Map<string, readonly ClaimedLease[]>;
  intervalsSent: string;
  /** Monotonic ms of the last authenticated request: the session is dead `sessionGraceMs` after it. */
  lastSeenMono: number;
  /** Monotonic ms of the last heartbeat (whose `inFlight` lists the leases the session still holds). */
  lastHeartbeatMono: number | undefined;
}

export interface IssuedToken {
  readonly accessToken: string;
  readonly expiresInMs: number;
}

export interface SessionStoreDeps {
  readonly clock: Pick<Clock, 'now' | 'monotonic'>;
  readonly random: Pick<Random, 'uuid' | 'hex'>;
  readonly settings: Settings;
  readonly enrollmentToken: string;
}

/** Sessions and their opaque access tokens; a token maps to exactly one live session. */
export class SessionStore {
  private readonly sessions = new Map<string, SessionRecord>();
  private readonly tokens = new Map<string, string>();

  constructor(private readonly deps: SessionStoreDeps) {}

  isEnrollmentToken(token: string | undefined): boolean {
    if (token === undefined) return false;
    const given = Buffer.from(token);
    const expected = Buffer.from(this.deps.enrollmentToken);
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  register(registration: RegisterRequest): { session: SessionRecord; token: IssuedToken } {
    const session: SessionRecord = {
      sessionId: this.deps.random.uuid(),
      registration,
      registeredAt: this.isoNow(),
      state: 'starting',
      inFlight: [],
      outboxDepth: 0,
      freeSlots: registration.capacity.maxJobs,
      lastHeartbeatAt: null,
      deregisteredAt: null,
      token: undefined,
      tokenExpiresAt: 0,
      pendingActions: [],
      releaseRequests: new Map(),
      claims: new Map(),
      intervalsSent: canonicalJson(this.deps.settings.intervals),
      lastSeenMono: this.deps.clock.monotonic(),
      lastHeartbeatMono: undefined,
    };
    this.sessions.set(session.sessionId, session);
    return { session, token: this.issueToken(session) };
  }

  /** The live session the token belongs to, if the token is current and unexpired. */
  authenticate(token: string | undefined): SessionRecord | undefined {
    if (token === undefined) return undefined;
    const sessionId = this.tokens.get(token);
    const session = sessionId === undefined ? undefined : this.sessions.get(sessionId);
    if (!session || session.deregisteredAt !== null) return undefined;
    return session.tokenExpiresAt > this.deps.clock.monotonic() ? session : undefined;
  }

  /** Every authenticated request is a sign of life. */
  touch(session: SessionRecord): void {
    session.lastSeenMono = this.deps.clock.monotonic();
  }

  /**
   * Whether a lease past its TTL is still held (docs/protocol.md §5.1): its session is registered,
   * not silent for `sessionGraceMs`, and has not heartbeaten since the TTL ran out without listing it.
   */
  holdsPastTtl(lease: {
    readonly sessionId: string;
    readonly leaseId: string;
    readonly expiresAt: number;
  }): boolean {
    const graceMs = this.deps.settings.intervals.sessionGraceMs ?? 0;
    const session = this.sessions.get(lease.sessionId);
    if (graceMs <= 0 || !session || session.deregisteredAt !== null) return false;
    const alive = (s: SessionRecord): boolean =>
      s.deregisteredAt === null && this.deps.clock.monotonic() < s.lastSeenMono + graceMs;
    const lists = (s: SessionRecord): boolean => s.inFlight.some((held) => held.leaseId === lease.leaseId);
    // A later session of the connector that lists the lease holds it too (§3.6: leases are not bound to sessions).
    for (const other of this.sessions.values()) {
      if (
        other !== session &&
        other.registration.connectorId === session.registration.connectorId &&
        alive(other) &&
        lists(other)
      )
        return true;
    }
    if (!alive(session)) return false;
    const reportedSince =
      session.lastHeartbeatMono !== undefined && session.lastHeartbeatMono >= lease.expiresAt;
    return !reportedSince || lists(session);
  }

  get(sessionId: string): SessionRecord | undefined {
    return this.sessions.get(sessionId);
  }

  list(): SessionRecord[] {
    return [...this.sessions.values()];
  }

  /** A new token; the old one stops working at once. */
  refresh(session: SessionRecord): IssuedToken {
    return this.issueToken(session);
  }

  deregister(session: SessionRecord): void {
    if (session.token !== undefined) this.tokens.delete(session.token);
    session.token = undefined;
    session.deregisteredAt = this.isoNow();
  }

  heartbeat(
    session: SessionRecord,
    request: HeartbeatRequest,
    receivedAt: string,
    isCurrent: (lease: ClaimedLease) => boolean,
  ): HeartbeatResponse {
    session.state = request.state;
    session.inFlight = request.inFlight;
    session.outboxDepth = request.outboxDepth;
    session.freeSlots = request.freeSlots;
    session.lastHeartbeatAt = receivedAt;
    session.lastHeartbeatMono = this.deps.clock.monotonic();
    const releaseLeases = new Set<string>();
    for (const [leaseId, jobId] of session.releaseRequests) {
      if (isCurrent({ jobId, leaseId })) releaseLeases.add(leaseId);
      else session.releaseRequests.delete(leaseId);
    }
    for (const lease of request.inFlight) {
      // Leases the connector believes it holds but the server has moved on from: let go of them.
      if (!isCurrent(lease)) releaseLeases.add(lease.leaseId);
      // An operator's release request went to the session that claimed the lease; the connector
      // may have registered again since, and now reports the lease under this session.
      else if (this.releaseRequested(lease.leaseId)) releaseLeases.add(lease.leaseId);
    }
    const intervals = this.intervalsUpdate(session);
    return {
      serverTime: this.isoNow(),
      receivedAt,
      actions: session.pendingActions.splice(0),
      releaseLeases: [...releaseLeases],
      ...(intervals ? { intervals } : {}),
    };
  }

  queueAction(sessionId: string, action: HeartbeatAction): SessionRecord {
    const session = this.requireLive(sessionId);
    session.pendingActions.push(action);
    return session;
  }

  private releaseRequested(leaseId: string): boolean {
    for (const other of this.sessions.values()) if (other.releaseRequests.has(leaseId)) return true;
    return false;
  }

  requestRelease(sessionId: string, lease: ClaimedLease): void {
    this.requireLive(sessionId).releaseRequests.set(lease.leaseId, lease.jobId);
  }

  rememberClaim(session: SessionRecord, key: string, leases: readonly ClaimedLease[]): void {
    session.claims.set(key, leases);
    const oldest = session.claims.keys().next();
    if (session.claims.size > rememberedClaimsPerSession && !oldest.done) session.claims.delete(oldest.value);
  }

  recallClaim(session: SessionRecord, key: string): readonly ClaimedLease[] | undefined {
    return session.claims.get(key);
  }

  forgetClaim(session: SessionRecord, key: string): void {
    session.claims.delete(key);
  }

  private requireLive(sessionId: string): SessionRecord {
    const session = this.sessions.get(sessionId);
    if (!session || session.deregisteredAt !== null) {
      throw protocolError('not_found', `session ${sessionId} is not registered`);
    }
    return session;
  }

  private issueToken(session: SessionRecord): IssuedToken {
    if (session.token !== undefined) this.tokens.delete(session.token);
    const accessToken = this.deps.random.hex(32);
    const expiresInMs = this.deps.settings.accessTokenTtlMs;
    session.token = accessToken;
    session.tokenExpiresAt = this.deps.clock.monotonic() + expiresInMs;
    this.tokens.set(accessToken, session.sessionId);
    return { accessToken, expiresInMs };
  }

  private intervalsUpdate(session: SessionRecord): Intervals | undefined {
    const current = canonicalJson(this.deps.settings.intervals);
    if (current === session.intervalsSent) return undefined;
    session.intervalsSent = current;
    return { ...this.deps.settings.intervals };
  }

  private isoNow(): string {
    return new Date(this.deps.clock.now()).toISOString();
  }
}
