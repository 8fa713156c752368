import { enrollmentTokenProblem, readEnrollmentToken } from '../../config/enrollment-token.js';
import type { AppConfig } from '../../config/env.js';
import { basePath, headers, paths, protocolVersion } from '../../control-plane/protocol.js';
import { userAgent } from '../../version.js';
import { innermostCause, type CheckStep } from './check-runner.js';
import { displayUrl, provided, type DoctorContext } from './doctor-context.js';
import type { HttpReply } from '../../runtime/http.js';
import type { CheckOutcome } from './doctor-types.js';

const tokenNotVerified =
  'the enrollment token is not verified: only registering checks it, and doctor does not register a session';
/** Doctor with no target flags sends the token next, to list the integrations. */
const tokenCheckedNext = 'the enrollment token is checked next, by "integrations"';

/**
 * Reachability without side effects. Protocol v1 has no read-only endpoint, so doctor sends
 * `GET` to the register path: a v1 server answers `405` (wrong method on a known path) and marks
 * every answer with `X-Connector-Protocol: 1`, which tells a real control plane from a proxy's
 * error page, and no session is created.
 */
export const controlPlaneCheck: CheckStep = {
  name: 'control plane',
  needs: ['configuration'],
  async run(ctx, signal) {
    const config = provided(ctx.config, 'the configuration');
    const url = config.controlPlane.url;
    if (!url) {
      return {
        status: 'skip',
        detail: 'sandbox mode: CONTROL_PLANE_URL is not set, so the daemon runs the embedded sandbox',
      };
    }
    const reachability = await probe(
      ctx,
      url,
      ctx.listsIntegrations ? tokenCheckedNext : tokenNotVerified,
      signal,
    );
    if (reachability.status === 'fail') return reachability;
    const tokenProblem = await tokenFileProblem(ctx, config);
    return tokenProblem ?? reachability;
  },
};

async function probe(
  ctx: DoctorContext,
  baseUrl: string,
  tokenNote: string,
  signal: AbortSignal,
): Promise<CheckOutcome> {
  const origin = displayUrl(baseUrl);
  let response: HttpReply;
  try {
    response = await ctx.fetch(`${baseUrl.replace(/\/+$/, '')}${basePath}${paths.register}`, {
      method: 'GET',
      headers: {
        [headers.protocol]: String(protocolVersion),
        'user-agent': userAgent,
        accept: 'application/json',
      },
      signal,
    });
  } catch (error) {
    if (signal.aborted) throw error;
    return {
      status: 'fail',
      detail: `cannot reach the control plane at ${origin} (${networkErrorKind(error)})`,
      remedy:
        'check DNS and egress from this host to the control plane (firewall, NetworkPolicy); behind a proxy set HTTPS_PROXY and NO_PROXY, and CA_BUNDLE_FILE for a TLS-intercepting proxy',
    };
  }
  if (response.headers.get(headers.protocol) !== String(protocolVersion)) {
    return {
      status: 'warn',
      detail: `${origin} answered HTTP ${response.status}, but not as a protocol v${protocolVersion} control plane (no ${headers.protocol} header: a proxy, a login page or the wrong URL?)`,
      remedy: `set CONTROL_PLANE_URL to the control plane's base URL; the connector appends ${basePath}`,
    };
  }
  return {
    status: 'pass',
    detail: `${origin} answers protocol v${protocolVersion} (HTTP ${response.status} to a read-only probe); ${tokenNote}`,
  };
}

/** The daemon refuses to start on an unreadable, empty or malformed token file; doctor says so first. */
async function tokenFileProblem(ctx: DoctorContext, config: AppConfig): Promise<CheckOutcome | undefined> {
  const path = config.controlPlane.tokenFile;
  if (!path) return undefined;
  let token: string;
  try {
    token = await readEnrollmentToken({ tokenFile: path });
  } catch (error) {
    const reason = error instanceof Error && 'code' in error ? String(error.code) : 'unreadable';
    return {
      status: 'fail',
      detail: `CONTROL_PLANE_TOKEN_FILE: cannot read ${path} (${reason})`,
      remedy: 'mount the enrollment token at that path (the Helm chart mounts it from a Secret)',
    };
  }
  ctx.scrubber.add(token);
  const problem = enrollmentTokenProblem(token);
  if (problem) {
    return {
      status: 'fail',
      detail: `CONTROL_PLANE_TOKEN_FILE: ${path}: ${problem}`,
      remedy: 'put the one enrollment token from the control plane in that file, on one line',
    };
  }
  return undefined;
}

/**
 * A wrapper says little; the innermost cause carries the reason (ECONNREFUSED, ENOTFOUND,
 * CERT_HAS_EXPIRED, a proxy's refusal…), with its message.
 */
function networkErrorKind(error: unknown): string {
  const inner = innermostCause(error);
  if (!(inner instanceof Error)) return 'unknown error';
  const code = 'code' in inner && typeof inner.code === 'string' ? inner.code : undefined;
  return code && !inner.message.includes(code) ? `${code}: ${inner.message}` : inner.message;
}
