import { z } from 'zod';
import { cancelledError, ConnectorError } from '../errors/connector-error.js';
import { errorCodeTable, type ErrorCode } from '../errors/error-codes.js';
import { errorCodeForStatus } from '../errors/from-http-status.js';
import { quoteReference, type AwsSmReference } from './secret-reference.js';
import {
  isNetworkErrno,
  isTlsVerificationCode,
  notTheStoreAnswered,
  sanitizeUpstreamMessage,
} from './upstream-message.js';

/**
 * `details.awsError` of an answer whose body is not AWS JSON (a proxy's block page): the name of the
 * error the SDK's JSON.parse throws, which it passes on with the answer's status.
 */
export const notAwsJsonError = 'SyntaxError';

/**
 * The few facts read from an SDK error. Deliberately not the error itself: it carries the request
 * id and the raw response, which must not travel as a cause into logs or the control plane.
 */
const AwsErrorFactsSchema = z.object({
  name: z.string().catch('Error'),
  message: z.string().catch(''),
  code: z.string().optional().catch(undefined),
  /** Set by Node on a failed file open: the credential chain's own files, never the network. */
  path: z.string().optional().catch(undefined),
  $metadata: z.object({ httpStatusCode: z.number().optional() }).optional().catch(undefined),
});

type AwsErrorFacts = z.infer<typeof AwsErrorFactsSchema>;
type Outcome = { readonly code: ErrorCode; readonly message: string };
type Rule = (facts: AwsErrorFacts, reference: AwsSmReference) => Outcome;

const notFound: Rule = (_facts, ref) => ({
  code: 'secret_not_found',
  message: `not found in Secrets Manager in ${ref.region} (check the name or ARN, the region and any versionStage/versionId)`,
});

const denied: Rule = (facts, ref) => ({
  code: 'forbidden',
  message: `access denied by Secrets Manager${awsSaid(facts, (text) => ` (AWS said: ${text})`)}. ${grantHint(ref, /\bkms\b/i.test(facts.message))}`,
});

const decryptionFailed: Rule = (_facts, ref) => ({
  code: 'forbidden',
  message: `Secrets Manager could not decrypt the secret with its KMS key. ${grantHint(ref, true)}`,
});

const badCredentials: Rule = (facts) => ({
  code: 'auth_failed',
  message: `AWS rejected the connector's credentials (${facts.name}): check that the access key or role session is valid, current and for the secret's partition`,
});

/**
 * The same name comes from Secrets Manager (a session token past its expiry) and from STS in the
 * IRSA step (the projected web identity token past its expiry); the SDK's errors tell them apart
 * only by their text, so the message names both, the IRSA one first: the SDK renews a role's
 * session itself, and only the token file, or keys set by hand, can be left to expire.
 */
const expiredCredentials: Rule = (facts) => ({
  code: 'auth_failed',
  message: `AWS refused the connector's credentials as expired (${facts.name}): with IRSA, the web identity token that AWS_WEB_IDENTITY_TOKEN_FILE names has expired; the kubelet renews that projected token, so check the node's kubelet and clock, and that the file is the mounted token, not a copy. Temporary keys set in AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN are never renewed: use a role (IRSA, EKS Pod Identity, an instance profile)`,
});

const noCredentials: Rule = () => ({
  code: 'auth_failed',
  message:
    'no AWS credentials found: on EKS annotate the connector service account with eks.amazonaws.com/role-arn (IRSA) or use EKS Pod Identity; elsewhere set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or attach an instance profile',
});

const webIdentityDenied: Rule = (facts) => ({
  code: 'auth_failed',
  message: `AWS STS refused the connector's web identity (${facts.name}): check the IAM role's trust policy (the cluster's OIDC provider and system:serviceaccount:<namespace>:<service account>) and the eks.amazonaws.com/role-arn annotation`,
});

const stsRegionDisabled: Rule = (facts, ref) => ({
  code: 'auth_failed',
  message: `AWS STS is not activated in ${ref.region} for the account of the connector's IAM role (${facts.name}), so the web identity gets no role credentials: activate STS in ${ref.region} in the IAM console (Account settings, Security Token Service endpoints)`,
});

/**
 * STS could not fetch the keys of the cluster's OIDC issuer to check the web identity token: AWS
 * documents it as transient, to be retried (the SDK models it as retryable), not a setup mistake.
 */
const identityProviderUnreachable: Rule = (facts) => ({
  code: 'upstream_unavailable',
  message: `AWS STS could not reach the cluster's OIDC identity provider to verify the connector's web identity token (${facts.name}); the read is retried. If it persists, check that the cluster's OIDC issuer URL answers from the internet`,
});

const throttled: Rule = () => ({ code: 'rate_limited', message: 'Secrets Manager throttled the request' });
// `Throttling` is the query protocol's code: STS's, from the web-identity step (many pods at once).
const stsThrottled: Rule = () => ({
  code: 'rate_limited',
  message: "AWS STS throttled the connector's request for role credentials (Throttling); the read is retried",
});
const unavailable: Rule = () => ({ code: 'upstream_unavailable', message: 'Secrets Manager is unavailable' });
const timedOut: Rule = () => ({ code: 'timeout', message: 'Secrets Manager did not answer in time' });

const rejected: Rule = (facts) => ({
  code: 'invalid_request',
  message: `Secrets Manager rejected the request (${facts.name}${awsSaid(facts, (text) => `: ${text}`)})`,
});

const rulesByName: Readonly<Record<string, Rule>> = {
  ResourceNotFoundException: notFound,
  AccessDeniedException: denied,
  DecryptionFailure: decryptionFailed,
  UnrecognizedClientException: badCredentials,
  InvalidClientTokenId: badCredentials,
  InvalidSignatureException: badCredentials,
  SignatureDoesNotMatch: badCredentials,
  IncompleteSignature: badCredentials,
  ExpiredTokenException: expiredCredentials,
  CredentialsProviderError: noCredentials,
  // STS, from the web-identity step of the credential chain. The SDK names a modelled STS error
  // after its class (InvalidIdentityTokenException), not its wire code (InvalidIdentityToken).
  AccessDenied: webIdentityDenied,
  InvalidIdentityToken: webIdentityDenied,
  InvalidIdentityTokenException: webIdentityDenied,
  IDPRejectedClaim: webIdentityDenied,
  IDPRejectedClaimException: webIdentityDenied,
  IDPCommunicationError: identityProviderUnreachable,
  RegionDisabledException: stsRegionDisabled,
  IDPCommunicationErrorException: identityProviderUnreachable,
  ThrottlingException: throttled,
  Throttling: stsThrottled,
  TooManyRequestsException: throttled,
  RequestLimitExceeded: throttled,
  InternalServiceError: unavailable,
  InvalidRequestException: rejected,
  InvalidParameterException: rejected,
};

/** Rules for answers without a recognised error name, chosen by the shared HTTP status table. */
const rulesByStatusCode: Partial<Record<ErrorCode, Rule>> = {
  forbidden: denied,
  not_found: notFound,
  auth_failed: badCredentials,
  rate_limited: throttled,
  upstream_unavailable: unavailable,
  timeout: timedOut,
};

/**
 * A credential chain that has supplied credentials in this process and supplies none now: its
 * source stopped answering (the EKS Pod Identity agent restarting, the ECS or instance metadata
 * endpoint failing). The SDK wraps any failed request to it as `CredentialsProviderError`, as it
 * does a chain with nothing set up, so only this process's own history tells an outage from a
 * setup problem; before the first credentials it stays `noCredentials`.
 */
const credentialsOutage: Rule = (facts) => ({
  code: 'upstream_unavailable',
  message: `the AWS credential chain supplied credentials earlier in this process and supplies none now (${facts.name}): its source (the EKS Pod Identity agent, the ECS or instance metadata endpoint, STS) is not answering; the read is retried`,
});

/** What the backend knows when a read fails. */
export interface AwsSmErrorContext {
  readonly signal?: AbortSignal;
  /** Whether a read of this backend has succeeded in this process (see `credentialsOutage`). */
  readonly credentialsIssued?: boolean;
}

/** Maps an AWS SDK failure to a ConnectorError that names the reference and says what to do. */
export function awsSmError(
  error: unknown,
  reference: AwsSmReference,
  context: AwsSmErrorContext = {},
): ConnectorError {
  const { signal } = context;
  if (signal?.aborted) return cancelledError(signal.reason);
  const facts = AwsErrorFactsSchema.catch({ name: 'Error', message: '' }).parse(error);
  const outcome =
    facts.name === 'CredentialsProviderError' && context.credentialsIssued === true
      ? credentialsOutage(facts, reference)
      : classify(facts, reference);
  return new ConnectorError({
    code: outcome.code,
    message: `secret ${quoteReference(reference.reference)}: ${outcome.message}`,
    details: {
      secretRef: reference.reference,
      backend: 'aws-sm',
      region: reference.region,
      awsError: facts.name,
      httpStatus: facts.$metadata?.httpStatusCode,
    },
  });
}

function classify(facts: AwsErrorFacts, reference: AwsSmReference): Outcome {
  const byName = Object.hasOwn(rulesByName, facts.name) ? rulesByName[facts.name] : undefined;
  if (byName) return byName(facts, reference);
  const status = facts.$metadata?.httpStatusCode;
  if (status !== undefined) {
    const code = errorCodeForStatus(status);
    if (facts.name === notAwsJsonError && !errorCodeTable[code].retryable) return notAwsAnswer(status, code);
    const rule = rulesByStatusCode[code];
    return rule
      ? rule(facts, reference)
      : { code, message: `Secrets Manager answered HTTP ${status} (${facts.name})` };
  }
  const file = unreadFile(facts);
  if (file) return file;
  if (facts.code && isTlsVerificationCode(facts.code)) {
    return {
      code: 'upstream_unavailable',
      message: `could not verify the TLS certificate presented for Secrets Manager in ${reference.region} (${facts.code}): behind a TLS-intercepting proxy, put its CA in CA_BUNDLE_FILE; otherwise check HTTPS_PROXY, NO_PROXY and any endpoint override`,
    };
  }
  // Socket errors keep their errno code; the SDK renames some of them TimeoutError.
  if (facts.code && isNetworkErrno(facts.code) && facts.code !== 'ETIMEDOUT') {
    return {
      code: 'upstream_unavailable',
      message: `could not reach Secrets Manager in ${reference.region} (${facts.code})`,
    };
  }
  if (facts.code === 'ETIMEDOUT' || facts.name === 'TimeoutError') return timedOut(facts, reference);
  return {
    code: 'internal',
    message: `unexpected error from the AWS SDK: ${facts.name}${awsSaid(facts, (text) => ` (AWS said: ${text})`)}`,
  };
}

/** File errnos that pass (file handles used up under load, a busy file), as the file backend retries them. */
const passingFileErrnos: ReadonlySet<string> = new Set(['EMFILE', 'ENFILE', 'EAGAIN', 'EBUSY', 'EINTR']);

/**
 * A file the credential chain could not read. The SDK passes on what `readFileSync` throws for
 * IRSA's web identity token file unwrapped (its other files it reads leniently, or wraps as
 * CredentialsProviderError), so the errno would otherwise read as Secrets Manager out of reach,
 * and a token file that is not mounted would be retried as an outage. Node names the path of a
 * failed open; reading a directory it reports as EISDIR without one.
 */
function unreadFile(facts: AwsErrorFacts): Outcome | undefined {
  if (!facts.code || (facts.path === undefined && facts.code !== 'EISDIR')) return undefined;
  const file = facts.path === undefined ? 'a file' : `the file ${JSON.stringify(facts.path)}`;
  const failure = `the AWS credential chain could not read ${file} (${facts.code})`;
  if (passingFileErrnos.has(facts.code)) {
    return { code: 'upstream_unavailable', message: `${failure} for now; the read is retried` };
  }
  return {
    code: 'auth_failed',
    message: `${failure}: with IRSA, AWS_WEB_IDENTITY_TOKEN_FILE must name the projected service account token, which EKS mounts in a pod whose service account has the eks.amazonaws.com/role-arn annotation, readable by the connector's user (the pod's fsGroup)`,
  };
}

/**
 * An answer the SDK could not parse as JSON (its JSON.parse threw) came from something in the path
 * (a proxy's or firewall's block page), or was cut short: its 403 says nothing about IAM, and the
 * SyntaxError's text, which quotes the body's first characters, is not AWS's words. A retryable
 * status (a proxy's 502, a 429) keeps its own rule.
 */
function notAwsAnswer(status: number, code: ErrorCode): Outcome {
  return {
    code,
    message: `Secrets Manager's endpoint answered HTTP ${status} with a body that is not AWS JSON: ${notTheStoreAnswered}. Check HTTPS_PROXY, NO_PROXY and any endpoint override`,
  };
}

function grantHint(reference: AwsSmReference, kms: boolean): string {
  const grant = `Grant the connector's IAM role secretsmanager:GetSecretValue on ${secretArn(reference)}`;
  return kms ? `${grant}, and kms:Decrypt on the secret's customer-managed KMS key` : grant;
}

/** The ARN to put in a policy; for a name, with the `-??????` wildcard for AWS's random suffix. */
function secretArn(reference: AwsSmReference): string {
  if (reference.secretId.startsWith('arn:')) return reference.secretId;
  const prefixes: readonly (readonly [string, string])[] = [
    ['cn-', 'aws-cn'],
    ['us-gov-', 'aws-us-gov'],
    ['us-isob-', 'aws-iso-b'],
    ['us-iso-', 'aws-iso'],
    ['eusc-', 'aws-eusc'],
  ];
  const partition = prefixes.find(([prefix]) => reference.region.startsWith(prefix))?.[1] ?? 'aws';
  return `arn:${partition}:secretsmanager:${reference.region}:<account-id>:secret:${reference.secretId}-??????`;
}

/** AWS's own wording, sanitised; kept where it names something useful, such as the denied principal. */
function awsSaid(facts: AwsErrorFacts, format: (text: string) => string): string {
  const text = sanitizeUpstreamMessage(facts.message);
  return text === '' ? '' : format(text);
}
