import { z } from 'zod';
import type { IntegrationRef } from '../../control-plane/protocol.js';
import type { Clock } from '../../runtime/clock.js';
import type { JobRecord } from './types.js';

/**
 * The reference control plane's grant ledger (docs/protocol.md, "Grant ledger"). For kinds whose
 * Atlas objects cannot record intent (Atlas UI roles carry no labels and no expiry), the control
 * plane keeps each grant's result — what it `added` and `created` — until a revoke or a sweep
 * closes it, and hands the person's unrevoked grants (all of them, for a sweep) to every job as
 * `payload.grants`, read at lease time so a revoke queued behind its grant sees the grant's result.
 */
export const ledgerKinds: ReadonlySet<string> = new Set(['atlas-org-portal']);

export interface LedgerEntry {
  readonly grantId: string;
  readonly email: string;
  readonly userId?: string;
  expiresAt: string;
  readonly added: unknown[];
  readonly created: unknown;
  /** Made from a recorded intent of a grant job that ended failed/dead (feature `job-intent`). */
  readonly fromIntent?: true;
  /** A revoke of this grant succeeded before its record arrived: kept as expired at that time. */
  readonly revokedAt?: string;
}

/** A succeeded revoke: when, and its job's place in the queue (a grant enqueued before it is older). */
interface Revoked {
  readonly at: string;
  readonly seq: number;
}

/**
 * The queue places of the jobs that last set a grant's record: its roles (a grant's result or
 * intent) and its end (those, or a renew), with that end. Kept after the record closes, so a late
 * report of an older job still finds them.
 */
interface SetBy {
  readonly rolesSeq: number;
  readonly endSeq: number;
  readonly expiresAt: string;
}

const grantJob = z.object({ grantId: z.string(), requester: z.object({ email: z.string() }) });
const grantResult = z.object({
  userId: z.string().optional(),
  expiresAt: z.string(),
  added: z.array(z.unknown()),
  created: z.unknown().optional(),
});
const byGrantId = z.object({ grantId: z.string() });
const renewResult = z.object({ grantId: z.string(), expiresAt: z.string() });
const sweepResult = z.object({
  clearedGrants: z.array(z.string()),
  overdue: z.array(z.object({ grantId: z.string(), expiresAt: z.string() })).default([]),
  // Only orders later sweeps: a malformed list must not keep the cleared grants open.
  failures: z.array(z.object({ email: z.string() })).catch([]),
  // The people it did not reach (the last ones of its payload): the next sweep starts with them.
  deferred: z.number().int().nonnegative().catch(0),
});

function parseText(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function unionByJson(a: readonly unknown[], b: readonly unknown[]): unknown[] {
  const seen = new Map<string, unknown>();
  for (const item of [...a, ...b]) seen.set(JSON.stringify(item), item);
  return [...seen.values()];
}

const createdShape = z
  .object({ invitation: z.boolean().optional(), projectMemberships: z.array(z.string()).optional() })
  .catch({});

/**
 * Whether what a record of `from` (a user id) added and created can be on the membership `to`
 * names, the one a later read of the person found: a pending invitation keeps its id, so a record
 * of another id was made on an invitation or membership that is gone, and `to` undefined means the
 * grant found the person absent (it invited them, the new invitation's id unknown): `from`'s was
 * gone too. Carried over, its roles and invitation would be claimed on someone else's invitation,
 * and the revoke or the sweep would remove them (or delete it). A record of no id may be either:
 * it is carried. The connector's own intent and result already carry what of it still counts.
 */
function sameMembership(from: string | undefined, to: string | undefined): boolean {
  return from === undefined || from === to;
}

function mergeCreated(a: unknown, b: unknown): unknown {
  const x = createdShape.parse(a ?? {});
  const y = createdShape.parse(b ?? {});
  return {
    invitation: Boolean(x.invitation) || Boolean(y.invitation),
    projectMemberships: [...new Set([...(x.projectMemberships ?? []), ...(y.projectMemberships ?? [])])],
  };
}

export interface GrantLedgerOptions {
  readonly clock: Pick<Clock, 'now'>;
  /** The payload limit connectors are told (`limits.maxPayloadBytes`): a sweep's records fit in it. */
  readonly maxPayloadBytes: number;
}

/** Where a leased sweep's turn started, and how many people of the turn it carries. */
interface SweepStop {
  readonly integrationId: string;
  readonly start: number;
  readonly taken: number;
  /**
   * The records it was leased with: one replaced since (a failed regrant of the grant widened it
   * with writes the sweep never saw) is not the one it cleared.
   */
  readonly handed: ReadonlySet<LedgerEntry>;
}

/** Room a sweep payload keeps for its other fields and the JSON around the records. */
const sweepPayloadMarginBytes = 1024;

export class GrantLedger {
  /** Per integration id, per grant id. */
  private readonly byIntegration = new Map<string, Map<string, LedgerEntry>>();
  /** Per integration id, per grant id: the revokes that succeeded. */
  private readonly revokes = new Map<string, Map<string, Revoked>>();
  /** Per integration id, per grant id: which jobs last set the record (SetBy). */
  private readonly setBys = new Map<string, Map<string, SetBy>>();
  /** Per integration id: where the next sweep starts among the people with nothing expired. */
  private readonly sweepCursors = new Map<string, number>();
  /**
   * Per sweep job id: where its turn started and how many people of the turn it carries (set at
   * each lease of it). The cursor moves on a success only, past the people the sweep reached: a
   * sweep leased again (a retried claim, a redelivery after a lost lease) gets the same people, or
   * those the lost attempt never reported on were skipped; and those a sweep that succeeded left
   * out of its result (`deferred`: the last of its payload) come first in the next one.
   */
  private readonly sweepStops = new Map<string, SweepStop>();
  /** Per integration id, per e-mail: the queue place of the last sweep that failed the person. */
  private readonly sweepFailures = new Map<string, Map<string, number>>();
  private readonly clock: Pick<Clock, 'now'>;

  constructor(private readonly options: GrantLedgerOptions) {
    this.clock = options.clock;
  }

  private entries(integrationId: string): Map<string, LedgerEntry> {
    const found = this.byIntegration.get(integrationId) ?? new Map<string, LedgerEntry>();
    this.byIntegration.set(integrationId, found);
    return found;
  }

  private failedInSweep(integrationId: string): Map<string, number> {
    const found = this.sweepFailures.get(integrationId) ?? new Map<string, number>();
    this.sweepFailures.set(integrationId, found);
    return found;
  }

  private revoked(integrationId: string): Map<string, Revoked> {
    const found = this.revokes.get(integrationId) ?? new Map<string, Revoked>();
    this.revokes.set(integrationId, found);
    return found;
  }

  private setBy(integrationId: string): Map<string, SetBy> {
    const found = this.setBys.get(integrationId) ?? new Map<string, SetBy>();
    this.setBys.set(integrationId, found);
    return found;
  }

  /**
   * A grant job enqueued before a revoke of its grant that already succeeded reports late (its job
   * died, then its held result came in, §4.7): what it added may even have landed after the revoke.
   * Its record is kept as expired at the revoke's time, so it keeps nothing of other grants alive
   * and the next sweep removes what it added. `seq`: the queue place of the job whose end stands.
   */
  private closedEarlier(seq: number, integrationId: string, grantId: string, expiresAt: string) {
    const revoke = this.revoked(integrationId).get(grantId);
    if (!revoke || revoke.seq < seq) return { expiresAt };
    return {
      expiresAt: Date.parse(revoke.at) < Date.parse(expiresAt) ? revoke.at : expiresAt,
      revokedAt: revoke.at,
    };
  }

  /**
   * A grant job's record (from its result or its intent) over what jobs enqueued after it set
   * already: a late report (the job died, then its held result came in, §4.7, or it failed again)
   * neither moves the end a later renew or grant set, nor narrows the roles a later grant of the
   * same id recorded (those are widened). Otherwise the record is the job's own. `keepsEnd`: the
   * job sets no end (a failed grant job widening a record keeps its end), so a renew enqueued
   * before it that reports later still moves the end.
   */
  private placed(job: JobRecord, integrationId: string, record: LedgerEntry, keepsEnd = false): LedgerEntry {
    const setBy = this.setBy(integrationId);
    const before = setBy.get(record.grantId);
    const laterEnd = before !== undefined && (keepsEnd || before.endSeq > job.seq) ? before : undefined;
    const laterRoles = before !== undefined && before.rolesSeq > job.seq;
    const expiresAt = laterEnd?.expiresAt ?? record.expiresAt;
    const endSeq = laterEnd?.endSeq ?? job.seq;
    setBy.set(record.grantId, { rolesSeq: laterRoles ? before.rolesSeq : job.seq, endSeq, expiresAt });
    const current = laterRoles ? this.entries(integrationId).get(record.grantId) : undefined;
    if (current === undefined) {
      return { ...record, ...this.closedEarlier(endSeq, integrationId, record.grantId, expiresAt) };
    }
    // The later grant read the person later: its user id says which membership they have, and
    // what this job did on another one is not on it (sameMembership).
    const { userId: _older, ...rest } = record;
    const carried = sameMembership(record.userId, current.userId);
    return {
      ...rest,
      ...(current.userId === undefined ? {} : { userId: current.userId }),
      ...this.closedEarlier(endSeq, integrationId, record.grantId, expiresAt),
      added: carried ? unionByJson(current.added, record.added) : current.added,
      created: mergeCreated(current.created, carried ? record.created : undefined),
    };
  }

  /** A renew's new end, unless a job enqueued after it (a renew, a grant of the same id) set one. */
  private renewed(job: JobRecord, integrationId: string, entry: LedgerEntry, expiresAt: string): void {
    const setBy = this.setBy(integrationId);
    const before = setBy.get(entry.grantId);
    if (before !== undefined && before.endSeq > job.seq) return;
    setBy.set(entry.grantId, { rolesSeq: before?.rolesSeq ?? -1, endSeq: job.seq, expiresAt });
    entry.expiresAt = expiresAt;
  }

  /** Unrevoked grants of an integration, optionally of one person (e-mail, case-insensitive). */
  grants(integrationId: string, email?: string): LedgerEntry[] {
    const all = [...this.entries(integrationId).values()];
    return email === undefined ? all : all.filter((g) => g.email.toLowerCase() === email.toLowerCase());
  }

  /** The stop a sweep's lease set, forgotten now that the sweep has ended. */
  private endSweep(job: JobRecord): SweepStop | undefined {
    const stop = job.type === 'sweep' ? this.sweepStops.get(job.jobId) : undefined;
    this.sweepStops.delete(job.jobId);
    return stop;
  }

  succeeded(job: JobRecord, integration: IntegrationRef | undefined): void {
    const stop = this.endSweep(job);
    if (!integration || !ledgerKinds.has(integration.kind)) return;
    const entries = this.entries(integration.id);
    const payload = parseText(job.payload);
    if (job.type === 'grant') {
      const request = grantJob.safeParse(payload);
      const result = grantResult.safeParse(job.result);
      if (!request.success || !result.success) return;
      const { userId, expiresAt, added, created } = result.data;
      const { grantId } = request.data;
      entries.set(
        grantId,
        this.placed(job, integration.id, {
          grantId,
          email: request.data.requester.email.toLowerCase(),
          ...(userId === undefined ? {} : { userId }),
          expiresAt,
          added,
          created: created ?? {},
        }),
      );
    } else if (job.type === 'revoke') {
      const request = byGrantId.safeParse(payload);
      if (!request.success) return;
      entries.delete(request.data.grantId);
      this.revoked(integration.id).set(request.data.grantId, {
        at: new Date(this.clock.now()).toISOString(),
        seq: job.seq,
      });
    } else if (job.type === 'renew') {
      const result = renewResult.safeParse(job.result);
      const entry = result.success ? entries.get(result.data.grantId) : undefined;
      if (entry && result.success) this.renewed(job, integration.id, entry, result.data.expiresAt);
    } else if (job.type === 'sweep') {
      const result = sweepResult.safeParse(job.result);
      if (!result.success) return;
      // The connector takes people in the payload's order and defers the last ones (the turn's
      // before anyone due): the cursor goes past those it reached only.
      if (stop?.integrationId === integration.id) {
        const reached = Math.max(0, stop.taken - result.data.deferred);
        this.sweepCursors.set(integration.id, stop.start + reached);
      }
      const seen = new Map(result.data.overdue.map((o) => [o.grantId, o.expiresAt]));
      const failed = this.failedInSweep(integration.id);
      const handed = stop?.integrationId === integration.id ? stop.handed : undefined;
      for (const grantId of result.data.clearedGrants) {
        // A person the sweep cleared a grant of went through: no longer held back.
        const email = entries.get(grantId)?.email;
        if (email !== undefined) failed.delete(email);
        // A grant renewed, or widened by a failed regrant, after the sweep was leased is no longer
        // the one it found expired: kept (the next sweep removes what the sweep never saw).
        const entry = entries.get(grantId);
        const saw = seen.get(grantId);
        const unchanged = entry !== undefined && (handed === undefined || handed.has(entry));
        if (unchanged && (saw === undefined || saw === entry.expiresAt)) entries.delete(grantId);
      }
      for (const { email } of result.data.failures) failed.set(email.toLowerCase(), job.seq);
    }
  }

  /**
   * A grant job ended `failed` or `dead` after an attempt recorded an intent: its Atlas writes may
   * have landed, so the intent becomes a record (`fromIntent`) and a revoke or a sweep removes them.
   * An existing record of the same grant (an earlier job that succeeded) is widened, never narrowed.
   */
  ended(job: JobRecord, integration: IntegrationRef | undefined): void {
    // A sweep that never succeeded reported on nobody: the next one starts where it did.
    this.endSweep(job);
    if (!integration || !ledgerKinds.has(integration.kind) || job.type !== 'grant' || !job.intent) return;
    const request = grantJob.safeParse(parseText(job.payload));
    const intent = grantResult.safeParse(job.intent.value);
    if (!request.success || !intent.success) return;
    const entries = this.entries(integration.id);
    const existing = entries.get(request.data.grantId);
    const { userId, expiresAt, added, created } = intent.data;
    // Widened by the existing record only as far as it can be on the intent's membership.
    const earlier = existing && sameMembership(existing.userId, userId) ? existing : undefined;
    const { grantId } = request.data;
    // A job that failed promised nothing: a record it widens keeps its end (a regrant for longer
    // that died would otherwise extend the earlier grant's roles too). Its own writes go then.
    const latest = earlier?.expiresAt ?? expiresAt;
    entries.set(
      grantId,
      this.placed(
        job,
        integration.id,
        {
          grantId,
          email: request.data.requester.email.toLowerCase(),
          ...(userId === undefined ? {} : { userId }),
          expiresAt: latest,
          added: unionByJson(earlier?.added ?? [], added),
          created: mergeCreated(earlier?.created, created),
          fromIntent: true,
        },
        earlier !== undefined,
      ),
    );
  }

  /** The payload as leased: `grants` added for ledger kinds, unless the job already carries them. */
  payloadFor(job: JobRecord, integration: IntegrationRef | undefined): string {
    if (!integration || !ledgerKinds.has(integration.kind)) return job.payload;
    const payload = parseText(job.payload);
    if (typeof payload !== 'object' || payload === null || Array.isArray(payload) || 'grants' in payload) {
      return job.payload;
    }
    const grants = this.grantsForJob(job, integration.id, payload);
    return grants === undefined ? job.payload : JSON.stringify({ ...payload, grants });
  }

  /**
   * A sweep's records, within the payload limit however large the ledger grows (an oversized payload
   * is refused, and a sweep that always fails would leave every expired role in place): every record
   * of each person with an expired one first, most overdue first, then the other people's (for
   * drift) in turn from where the last successful sweep stopped (the people it deferred are its
   * last: the next turn starts with them), whole people only, as many as fit. A person
   * the last sweep that reached them failed (Atlas refusing a removal every time) goes after the
   * others due, the longest failed first: stuck in front, they would take the room every sweep.
   */
  private sweepGrants(jobId: string, integrationId: string, payload: object): LedgerEntry[] {
    const now = this.clock.now();
    const failed = this.failedInSweep(integrationId);
    const people = new Map<string, { records: LedgerEntry[]; firstExpiry: number }>();
    for (const entry of this.grants(integrationId)) {
      const person = people.get(entry.email) ?? { records: [], firstExpiry: Infinity };
      person.records.push(entry);
      const at = Date.parse(entry.expiresAt);
      if (at <= now) person.firstExpiry = Math.min(person.firstExpiry, at);
      people.set(entry.email, person);
    }
    // Held back only while something of theirs is due: a person revoked since is forgotten.
    for (const email of [...failed.keys()])
      if ((people.get(email)?.firstExpiry ?? Infinity) === Infinity) failed.delete(email);
    const all = [...people.entries()].map(([email, p]) => ({ ...p, failedAt: failed.get(email) ?? -1 }));
    const due = all
      .filter((p) => p.firstExpiry !== Infinity)
      .sort((a, b) => a.failedAt - b.failedAt || a.firstExpiry - b.firstExpiry);
    const others = all.filter((p) => p.firstExpiry === Infinity);
    const start = (this.sweepCursors.get(integrationId) ?? 0) % Math.max(1, others.length);
    const rotated = [...others.slice(start), ...others.slice(0, start)].map((p) => p.records);
    let room =
      this.options.maxPayloadBytes - Buffer.byteLength(JSON.stringify(payload)) - sweepPayloadMarginBytes;
    const chosen: LedgerEntry[] = [];
    const take = (records: readonly LedgerEntry[]): boolean => {
      const size = Buffer.byteLength(JSON.stringify(records));
      if (size > room) return false;
      chosen.push(...records);
      room -= size;
      return true;
    };
    for (const person of due) take(person.records);
    let taken = 0;
    for (const records of rotated) {
      if (!take(records)) break;
      taken += 1;
    }
    this.sweepStops.set(jobId, { integrationId, start, taken, handed: new Set(chosen) });
    return chosen;
  }

  private grantsForJob(job: JobRecord, integrationId: string, payload: object): LedgerEntry[] | undefined {
    const { type } = job;
    if (type === 'sweep') return this.sweepGrants(job.jobId, integrationId, payload);
    if (type === 'grant') {
      const request = grantJob.safeParse(payload);
      return request.success ? this.grants(integrationId, request.data.requester.email) : undefined;
    }
    if (type === 'revoke' || type === 'renew') {
      const request = byGrantId.safeParse(payload);
      if (!request.success) return undefined;
      const entry = this.entries(integrationId).get(request.data.grantId);
      return entry ? this.grants(integrationId, entry.email) : [];
    }
    return undefined;
  }
}
