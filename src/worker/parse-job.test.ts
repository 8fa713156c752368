import { describe, expect, it } from 'vitest';
import { envelope } from '../../test/fakes/fake-control-plane.js';
import { loadConfig } from '../config/env.js';
import type { ConnectorError } from '../errors/connector-error.js';
import { createJobRouter, pingHandler } from './job-handlers.js';
import { isUnreadable, parseEnvelope, parseJob } from './parse-job.js';

const router = createJobRouter({ ping: pingHandler });
const policy = loadConfig({}).policy;

function refusal(job = envelope(), limit = 1024, jobPolicy = policy): ConnectorError {
  try {
    parseJob(job, router, jobPolicy, limit);
  } catch (error) {
    return error as ConnectorError;
  }
  throw new Error('expected the job to be refused');
}

describe('parseJob', () => {
  it('accepts a valid ping job', () => {
    expect(parseJob(envelope(), router, policy, 1024).payload).toEqual({ echo: 'hi' });
  });

  it('refuses invalid JSON with invalid_job', () => {
    const error = refusal(envelope({ payload: '{"echo": ' }));
    expect(error.code).toBe('invalid_job');
    expect(error.message).toMatch(/payload is not valid JSON/);
  });

  it('does not quote the payload text when it is not valid JSON (it may hold personal data)', () => {
    const error = refusal(envelope({ payload: '{"requester": alice@example.com}' }));
    expect(error.code).toBe('invalid_job');
    expect(error.message).toMatch(/^payload is not valid JSON/);
    expect(error.message).not.toContain('alice');
  });

  it('refuses a payload over the size limit before parsing it', () => {
    const error = refusal(envelope({ payload: JSON.stringify({ echo: 'x'.repeat(2000) }) }));
    expect(error.code).toBe('invalid_job');
    expect(error.message).toMatch(/over the limit of 1024 bytes/);
  });

  it('refuses an unknown job type and lists the known ones', () => {
    const error = refusal(envelope({ type: 'teleport' }));
    expect(error.code).toBe('invalid_job');
    expect(error.message).toContain('unknown job type "teleport"');
    expect(error.message).toContain('ping');
  });

  it('names the field when the payload does not match the schema', () => {
    const error = refusal(envelope({ payload: JSON.stringify({ echo: 42 }) }));
    expect(error.code).toBe('invalid_job');
    expect(error.message).toMatch(/echo:/);
    const extra = refusal(envelope({ payload: JSON.stringify({ echo: 'a', surprise: 1 }) }));
    expect(extra.message).toMatch(/surprise/);
  });

  it('refuses a job type outside POLICY_ALLOWED_JOB_TYPES with policy_denied', () => {
    const strict = loadConfig({ POLICY_ALLOWED_JOB_TYPES: 'grant,revoke' }).policy;
    expect(refusal(envelope(), 1024, strict).code).toBe('policy_denied');
  });
});

describe('parseEnvelope', () => {
  it('reports the missing envelope field and keeps the job id when there is one', () => {
    const result = parseEnvelope({ jobId: 'j9', type: 'ping' });
    expect(isUnreadable(result)).toBe(true);
    expect(result).toMatchObject({ jobId: 'j9' });
    expect((result as { problem: string }).problem).toMatch(/attempt/);
  });
});
