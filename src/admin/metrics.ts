import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { policyRules } from '../errors/policy-denial.js';

/** The `reason` label of `atlas_connector_leases_lost_total`. */
export const leaseLossReasons = ['deadline', 'revoked'] as const;

/**
 * The `atlas_connector_*` families of agent-protocols.md §7.11, on a registry owned by this
 * instance (never prom-client's global one). Labels are bounded sets: no job ids, users or projects.
 * A series that first appears at 1 shows Prometheus no increase: the shipped alerts on any
 * increase also take a series that is new and above 0 (docs/operations.md, "Metrics and alerts"),
 * and the counters among them with few label values start at 0 for each, so that a loss or denial
 * after the first scrape is an increase too. `info` is in every scrape: the alerts tell a failed
 * scrape from a new series by it.
 */
export function createMetrics(version: string, integrationKinds: readonly string[] = []) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const r = [registry];
  const metrics = {
    registry,
    info: new Gauge({
      name: 'atlas_connector_info',
      help: 'Always 1; labels describe the build.',
      labelNames: ['version'],
      registers: r,
    }),
    controlPlaneRequests: new Counter({
      name: 'atlas_connector_control_plane_requests_total',
      help: 'Control-plane requests by call (claim, intent, result, ...) and HTTP status (network_error when none).',
      // Not `endpoint`: a ServiceMonitor target's own label of that name would rename it exported_endpoint.
      labelNames: ['call', 'code'],
      registers: r,
    }),
    controlPlaneDuration: new Histogram({
      name: 'atlas_connector_control_plane_request_duration_seconds',
      help: 'Control-plane request duration by call, long-polls included.',
      labelNames: ['call'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: r,
    }),
    claims: new Counter({
      name: 'atlas_connector_claims_total',
      help: 'Claims by result.',
      labelNames: ['result'],
      registers: r,
    }),
    jobsStarted: new Counter({
      name: 'atlas_connector_jobs_started_total',
      help: 'Jobs started.',
      labelNames: ['type'],
      registers: r,
    }),
    jobsCompleted: new Counter({
      name: 'atlas_connector_jobs_completed_total',
      help: 'Jobs finished, by outcome (succeeded, failed: result accepted; rejected, dropped: result refused or undelivered; lease_lost, released).',
      labelNames: ['type', 'outcome'],
      registers: r,
    }),
    jobsFailed: new Counter({
      name: 'atlas_connector_jobs_failed_total',
      help: 'Jobs that finished failed, by type and error code (the code reported to the control plane).',
      labelNames: ['type', 'code'],
      registers: r,
    }),
    jobsInFlight: new Gauge({
      name: 'atlas_connector_jobs_in_flight',
      help: 'Jobs running now.',
      labelNames: ['type'],
      registers: r,
    }),
    jobsWaiting: new Gauge({
      name: 'atlas_connector_jobs_waiting',
      help: 'In-flight jobs that gave their slot back to wait on Atlas; they still hold their lease.',
      registers: r,
    }),
    jobDuration: new Histogram({
      name: 'atlas_connector_job_duration_seconds',
      help: 'Handler duration by type and outcome.',
      labelNames: ['type', 'outcome'],
      buckets: [0.005, 0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 30, 60, 120],
      registers: r,
    }),
    leaseExtensions: new Counter({
      name: 'atlas_connector_lease_extensions_total',
      help: 'Lease extensions by result (ok, error, lost).',
      labelNames: ['result'],
      registers: r,
    }),
    leasesLost: new Counter({
      name: 'atlas_connector_leases_lost_total',
      help: 'Leases lost, by reason.',
      labelNames: ['reason'],
      registers: r,
    }),
    outboxDepth: new Gauge({
      name: 'atlas_connector_result_outbox_depth',
      help: 'Results waiting to be delivered.',
      registers: r,
    }),
    resultReports: new Counter({
      name: 'atlas_connector_result_report_attempts_total',
      help: 'Result delivery attempts by result (accepted, retry, rejected, dropped).',
      labelNames: ['result'],
      registers: r,
    }),
    lastContact: new Gauge({
      name: 'atlas_connector_last_successful_contact_timestamp_seconds',
      help: 'Unix time of the last successful control-plane answer.',
      registers: r,
    }),
    clockSkew: new Gauge({
      name: 'atlas_connector_clock_skew_seconds',
      help: 'Estimated server clock minus local clock, from heartbeats.',
      registers: r,
    }),
    atlasRequests: new Counter({
      name: 'atlas_connector_atlas_api_requests_total',
      help: 'Atlas Admin API requests by operation and HTTP status.',
      labelNames: ['operation', 'code'],
      registers: r,
    }),
    atlasDuration: new Histogram({
      name: 'atlas_connector_atlas_api_request_duration_seconds',
      help: 'Atlas Admin API request duration by operation.',
      labelNames: ['operation'],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10],
      registers: r,
    }),
    atlasRetries: new Counter({
      name: 'atlas_connector_atlas_api_retries_total',
      help: 'Atlas Admin API calls retried, by operation and the error code of the failed attempt.',
      labelNames: ['operation', 'code'],
      registers: r,
    }),
    atlasTokenRevokeFailures: new Counter({
      name: 'atlas_connector_atlas_oauth_revoke_failures_total',
      help: 'Revokes of a replaced or closing Atlas OAuth token that Atlas refused or that failed (not retried).',
      registers: r,
    }),
    atlasRateLimitWait: new Histogram({
      name: 'atlas_connector_atlas_rate_limit_wait_seconds',
      help: "Time an Atlas call spent queued in the client's pacer before it was sent, by scope (project, org).",
      labelNames: ['scope'],
      buckets: [0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60],
      registers: r,
    }),
    secretFetches: new Counter({
      name: 'atlas_connector_secret_fetches_total',
      help: 'Reads of the secret store (cache misses), by backend and outcome (success or the error code).',
      labelNames: ['backend', 'outcome'],
      registers: r,
    }),
    secretFetchDuration: new Histogram({
      name: 'atlas_connector_secret_fetch_duration_seconds',
      help: 'Duration of a secret-store read, by backend and outcome.',
      labelNames: ['backend', 'outcome'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: r,
    }),
    discoveryLastSuccess: new Gauge({
      name: 'atlas_connector_discovery_last_success_timestamp_seconds',
      help: 'Unix time of the last discover job that succeeded (0 until one does).',
      registers: r,
    }),
    sweepFailures: new Counter({
      name: 'atlas_connector_sweep_failures_total',
      help: 'What sweeps whose results were accepted could not clean up (people, database users, projects), by integration kind: access that may outlive its end.',
      labelNames: ['kind'],
      registers: r,
    }),
    policyDenials: new Counter({
      name: 'atlas_connector_policy_denials_total',
      help: 'Jobs refused by the local policy, by rule.',
      labelNames: ['rule'],
      registers: r,
    }),
  };
  metrics.info.set({ version }, 1);
  for (const reason of leaseLossReasons) metrics.leasesLost.inc({ reason }, 0);
  for (const rule of policyRules) metrics.policyDenials.inc({ rule }, 0);
  for (const kind of integrationKinds) metrics.sweepFailures.inc({ kind }, 0);
  return metrics;
}

export type Metrics = ReturnType<typeof createMetrics>;
