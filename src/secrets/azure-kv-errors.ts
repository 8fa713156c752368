import { z } from 'zod';
import { cancelledError, ConnectorError } from '../errors/connector-error.js';
import { errorCodeTable, type ErrorCode } from '../errors/error-codes.js';
import { errorCodeForStatus, parseRetryAfter } from '../errors/from-http-status.js';
import type { Clock } from '../runtime/clock.js';
import { quoteReference, type AzureKvReference } from './secret-reference.js';
import {
  isNetworkErrno,
  isTlsVerificationCode,
  notTheStoreAnswered,
  sanitizeUpstreamMessage,
} from './upstream-message.js';

// z.custom keeps the object itself: headers.get() needs its own `this`, which a parsed copy loses.
const Headers = z.custom<{ get(name: string): unknown }>(
  (value) => typeof value === 'object' && value !== null && 'get' in value && typeof value.get === 'function',
);

/** One identity credential's failure: the error itself, or one of AggregateAuthenticationError.errors. */
const IdentityFailureSchema = z.object({
  name: z.string().catch('Error'),
  message: z.string().catch(''),
  statusCode: z.number().optional().catch(undefined),
  // EnvironmentCredential (a client secret) rethrows any failure as AuthenticationError(400) whose
  // description is the failure's message.
  errorResponse: z.object({ errorDescription: z.string() }).optional().catch(undefined),
});

type IdentityFailure = z.infer<typeof IdentityFailureSchema>;

/**
 * The few facts read from an SDK error. The error itself is not kept as a cause: its request and
 * response carry headers and ids that must not reach logs or the control plane.
 */
const AzureErrorFactsSchema = IdentityFailureSchema.extend({
  // DefaultAzureCredential's chain: each credential's own failure.
  errors: z
    .array(IdentityFailureSchema.catch({ name: 'Error', message: '' }))
    .optional()
    .catch(undefined),
  code: z.string().optional().catch(undefined),
  response: z.object({ headers: Headers }).optional().catch(undefined),
  // Key Vault's error JSON, which the SDK puts here; absent when the body was not that JSON. Key
  // Vault's specific reason sits under the generic `Forbidden`: SecretDisabled, ForbiddenByFirewall…
  details: z
    .object({
      error: z.object({
        code: z.string(),
        innerError: z.object({ code: z.string() }).optional().catch(undefined),
      }),
    })
    .optional()
    .catch(undefined),
});

type AzureErrorFacts = z.infer<typeof AzureErrorFactsSchema>;
type Outcome = {
  readonly code: ErrorCode;
  readonly message: string;
  readonly azureError?: string;
  /** The HTTP status to report with `azureError`, when that status is the answer's own. */
  readonly httpStatus?: number;
  /** The wait to suggest when the failure carries no `Retry-After` of its own. */
  readonly retryAfterMs?: number;
};

/** What the backend knows when a read fails. */
export interface AzureKvErrorContext {
  readonly clock: Pick<Clock, 'now'>;
  readonly signal?: AbortSignal;
  /** Whether this backend's Azure credential has issued a token in this process (see `identityOutage`). */
  readonly identityIssuedToken?: boolean;
}

type Rule = (facts: AzureErrorFacts, reference: AzureKvReference) => Outcome;

/** `details.azureError` of an answer whose body is not Key Vault's error JSON (a proxy's block page). */
export const notKeyVaultJsonError = 'NotKeyVaultJson';

/** The name of the error an answer whose body is not a JSON object ends a read with (`azure-kv-backend.ts`). */
export const notJsonAnswerErrorName = 'KeyVaultNotJsonAnswer';

/** The name of the error a token request past its deadline rejects with (`azure-kv-backend.ts`). */
export const tokenTimeoutErrorName = 'TokenRequestTimeoutError';

const identityErrors: ReadonlySet<string> = new Set([
  'CredentialUnavailableError',
  'AuthenticationError',
  'AggregateAuthenticationError',
  'AuthenticationRequiredError',
]);

/**
 * MSAL's error codes for a token request that failed on the way, not on its merits: `network_error`
 * (no answer, or an answer that is not JSON, such as Entra ID's plain-text 429 or a proxy's 502
 * page), and OAuth's `temporarily_unavailable` and `server_error` (Entra ID's 5xx answers).
 */
const transientMsalCodes: ReadonlySet<string> = new Set([
  'network_error',
  'temporarily_unavailable',
  'server_error',
]);

/**
 * How long a token request throttled by Entra ID (HTTP 429) waits: the identity SDK drops Entra
 * ID's `Retry-After`, and MSAL's own default for a throttled request is 60 s
 * (`DEFAULT_THROTTLE_TIME_SECONDS`, @azure/msal-common).
 */
const entraThrottleRetryAfterMs = 60_000;

/**
 * MSAL's error code, read from the failure's text: the identity SDK turns MSAL's error into an
 * AuthenticationRequiredError that keeps only its message, `${errorCode}: ${errorMessage}`
 * (@azure/identity 4.13.1 `handleMsalError`, @azure/msal-node 5.6.0), so no HTTP status or errno
 * survives. After a 429 or 5xx, MSAL answers the same request from its throttle cache (60 s, or
 * Retry-After) with the AADSTS numbers as the code, or nothing: "90033: AADSTS90033: …", or "".
 */
function msalErrorCode(failure: IdentityFailure): string | undefined {
  const text = failure.errorResponse?.errorDescription ?? failure.message;
  const code = /^([a-z_]+|[\d ]*)(?::|$)/.exec(text)?.[1];
  if (code === undefined) return undefined;
  return /^[\d ]*$/.test(code) ? 'throttled' : code;
}

/** Why Entra ID issued no token (`details.azureError`), and whether it said it was throttling. */
type EntraOutage = { readonly reason: string; readonly throttled: boolean };

/**
 * Why Microsoft Entra ID could not issue a token to a configured identity, when the reason is the
 * network or Entra ID's own state, not the identity. Only a credential that asked Entra ID fails
 * with AuthenticationRequiredError or AuthenticationError; one that is not set up (no workload
 * identity, no managed identity endpoint) fails with CredentialUnavailableError, whatever its text
 * says about the network, and stays a setup problem. A rejection (invalid_client, AADSTS…) wins.
 */
function entraOutage(facts: AzureErrorFacts): EntraOutage | undefined {
  const asked = (facts.errors ?? [facts]).filter(
    (failure) => failure.name === 'AuthenticationRequiredError' || failure.name === 'AuthenticationError',
  );
  const outages = asked.map(outageOf);
  const [first] = outages;
  if (first === undefined || outages.includes(undefined)) return undefined;
  return { reason: first.reason, throttled: outages.some((outage) => outage?.throttled) };
}

/** One credential's failure as an outage; only AuthenticationError keeps Entra ID's HTTP status. */
function outageOf(failure: IdentityFailure): EntraOutage | undefined {
  const status = failure.name === 'AuthenticationError' ? failure.statusCode : undefined;
  if (status === 429) return { reason: `HTTP ${status}`, throttled: true };
  if (status !== undefined && status >= 500) return { reason: `HTTP ${status}`, throttled: false };
  const code = msalErrorCode(failure);
  const transient = code !== undefined && (transientMsalCodes.has(code) || code === 'throttled');
  return transient ? { reason: code, throttled: false } : undefined;
}

/**
 * A configured identity that stopped answering: the credential has issued a token in this process,
 * and every credential tried now reports itself unavailable. The SDK reports a managed identity
 * endpoint (IMDS) that does not answer exactly as one that does not exist, so only this process's
 * own history tells an outage from a setup problem; before the first token it stays `noIdentity`.
 * A rejection by Microsoft Entra ID among the failures is not unavailability, and wins.
 */
function identityOutage(facts: AzureErrorFacts, context: AzureKvErrorContext): boolean {
  if (context.identityIssuedToken !== true) return false;
  return (facts.errors ?? [facts]).every((failure) => failure.name === 'CredentialUnavailableError');
}

const noIdentity: Rule = (facts, ref) => ({
  code: 'auth_failed',
  message: `no usable Azure identity${azureSaid(facts)}: on AKS enable workload identity (pod label azure.workload.identity/use: "true", service account annotation azure.workload.identity/client-id, a federated credential for the service account) or use a managed identity; elsewhere set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET${sovereignAuthorityHint(ref)}`,
});

/** Key Vault's DNS suffix in each national cloud, and that cloud's Microsoft Entra ID. */
const sovereignClouds: readonly (readonly [suffix: string, cloud: string, authority: string])[] = [
  ['.vault.azure.cn', 'Azure China', 'https://login.chinacloudapi.cn'],
  ['.vault.usgovcloudapi.net', 'Azure US Government', 'https://login.microsoftonline.us'],
  ['.vault.microsoftazure.de', 'Azure Germany', 'https://login.microsoftonline.de'],
];

/**
 * Key Vault's challenge names the tenant and the authority, but the SDK passes on only the tenant
 * (@azure/keyvault-common 2.1.0): the token is asked of AZURE_AUTHORITY_HOST, by default the public
 * cloud's, which does not know a national cloud's tenants. The workload identity webhook sets it
 * on an AKS cluster in that cloud; a client secret, or a pod outside that cloud, needs it set.
 */
function sovereignAuthorityHint(ref: AzureKvReference): string {
  const host = new URL(ref.vaultUrl).hostname;
  const cloud = sovereignClouds.find(([suffix]) => host.endsWith(suffix));
  if (cloud === undefined) return '';
  const [, name, authority] = cloud;
  return `; a vault in ${name} takes tokens from that cloud's Microsoft Entra ID only: set AZURE_AUTHORITY_HOST=${authority} if it is not set (on AKS in that cloud the workload identity webhook sets it)`;
}

const notFound: Rule = (_facts, ref) => ({
  code: 'secret_not_found',
  message: `not found in Key Vault ${ref.vaultUrl} (check the secret name${ref.version ? ' and version' : ''}; a deleted secret must be recovered first)`,
});

const networkRefusals: ReadonlySet<string> = new Set(['ForbiddenByFirewall', 'ForbiddenByConnection']);

const forbidden: Rule = (facts, ref) => {
  const reason = azureErrorCode(facts);
  if (reason === 'SecretDisabled') {
    return {
      code: 'forbidden',
      message: `${ref.version ? `version ${ref.version} of the secret` : 'the secret'} is disabled in Key Vault ${ref.vaultUrl}: enable it (az keyvault secret set-attributes --enabled true), or point the reference at an enabled version`,
    };
  }
  if (networkRefusals.has(reason)) {
    return {
      code: 'forbidden',
      message: `Key Vault's network rules refused the connector${azureSaid(facts)}: allow the connector's network (private endpoint or firewall rule)`,
    };
  }
  const role = `the "Key Vault Secrets User" role on the secret (scope <vault resource id>/secrets/${ref.secretName})`;
  const policy = `the "get" secret permission in its access policies (az keyvault set-policy -n ${vaultName(ref)} --object-id <principal id> --secret-permissions get)`;
  // A vault answers under one permission model, and a grant under the other has no effect on it.
  const grant =
    reason === 'ForbiddenByRbac'
      ? `Assign the connector's identity ${role}; the vault uses Azure RBAC, and a new assignment can take a few minutes to apply`
      : reason === 'AccessDenied'
        ? `Give the connector's identity ${policy}; the vault uses access policies, so a role assignment has no effect`
        : `Assign the connector's identity ${role}, or, on a vault using access policies, ${policy}`;
  return { code: 'forbidden', message: `access denied by Key Vault${azureSaid(facts)}. ${grant}` };
};

/** The vault's name: the first label of its host, as `az keyvault` takes it. */
function vaultName(ref: AzureKvReference): string {
  return new URL(ref.vaultUrl).hostname.split('.')[0] ?? ref.vaultUrl;
}

const tokenRejected: Rule = (facts) => ({
  code: 'auth_failed',
  message: `Key Vault rejected the connector's token${azureSaid(facts)}: check that the identity belongs to the vault's tenant`,
});

const throttled: Rule = () => ({ code: 'rate_limited', message: 'Key Vault throttled the request' });
const unavailable: Rule = (facts) => ({
  code: 'upstream_unavailable',
  message: `Key Vault is unavailable (HTTP ${facts.statusCode ?? '?'})`,
});

/** Rules chosen by the shared HTTP status table. */
const rulesByStatusCode: Partial<Record<ErrorCode, Rule>> = {
  not_found: notFound,
  forbidden,
  auth_failed: tokenRejected,
  rate_limited: throttled,
  upstream_unavailable: unavailable,
};

/** Maps an Azure SDK failure to a ConnectorError that names the reference and says what to do. */
export function azureKvError(
  error: unknown,
  reference: AzureKvReference,
  context: AzureKvErrorContext,
): ConnectorError {
  const { clock, signal } = context;
  if (signal?.aborted) return cancelledError(signal.reason);
  const facts = AzureErrorFactsSchema.catch({ name: 'Error', message: '' }).parse(error);
  const outcome = classify(facts, reference, context);
  const retryAfter = facts.response?.headers.get('retry-after');
  return new ConnectorError({
    code: outcome.code,
    message: `secret ${quoteReference(reference.reference)}: ${outcome.message}`,
    retryAfterMs:
      (typeof retryAfter === 'string' ? parseRetryAfter(retryAfter, clock.now()) : undefined) ??
      outcome.retryAfterMs,
    details: {
      secretRef: reference.reference,
      backend: 'azure-kv',
      vault: reference.vaultUrl,
      azureError: outcome.azureError ?? azureErrorCode(facts),
      // A client secret's failure is an AuthenticationError(400) whatever Entra ID answered.
      httpStatus: outcome.azureError === undefined ? facts.statusCode : outcome.httpStatus,
    },
  });
}

function classify(
  facts: AzureErrorFacts,
  reference: AzureKvReference,
  context: AzureKvErrorContext,
): Outcome {
  if (facts.name === tokenTimeoutErrorName) {
    return {
      code: 'timeout',
      message: `no token for Key Vault ${reference.vaultUrl} in time: check the network path to Microsoft Entra ID (login.microsoftonline.com, or AZURE_AUTHORITY_HOST; proxy, NO_PROXY, firewall)`,
    };
  }
  const challengedResource = challengeResourceMismatch(facts);
  if (challengedResource !== undefined) {
    const host = new URL(reference.vaultUrl).host;
    return {
      code: 'config_invalid',
      azureError: 'ChallengeResourceMismatch',
      message: `Key Vault's challenge names the resource ${challengedResource}, and ${host} is not a host of ${challengedResource}, so the SDK sends it no token: use the vault's own URL, https://<vault name>.${challengedResource} (a private endpoint is reached through that name and private DNS, not through a privatelink or custom host name)`,
    };
  }
  if (identityErrors.has(facts.name)) return identityFailure(facts, reference, context);
  if (facts.statusCode !== undefined) {
    const code = errorCodeForStatus(facts.statusCode);
    if (notKeyVaultJson(facts) && !errorCodeTable[code].retryable) {
      return notKeyVaultAnswer(facts.statusCode, code, reference);
    }
    const rule = rulesByStatusCode[code];
    return rule ? rule(facts, reference) : { code, message: `Key Vault answered HTTP ${facts.statusCode}` };
  }
  // The caller's own abort is handled before this: an AbortError here is the request timeout.
  if (facts.name === 'AbortError') {
    return {
      code: 'timeout',
      message: `Key Vault ${reference.vaultUrl} did not answer in time: check the network path (private endpoint, proxy, firewall)`,
    };
  }
  if (facts.code && isTlsVerificationCode(facts.code)) {
    return {
      code: 'upstream_unavailable',
      message: `could not verify the TLS certificate presented for Key Vault ${reference.vaultUrl} (${facts.code})${azureSaid(facts)}: behind a TLS-intercepting proxy, put its CA in CA_BUNDLE_FILE; otherwise check HTTPS_PROXY, NO_PROXY and the vault URL`,
    };
  }
  if (facts.code && (isNetworkErrno(facts.code) || facts.code === 'REQUEST_SEND_ERROR')) {
    return {
      code: 'upstream_unavailable',
      message: `could not reach Key Vault ${reference.vaultUrl} (${facts.code}): check the vault name or URL and the network path`,
    };
  }
  return {
    code: 'internal',
    message: `unexpected error from the Azure SDK: ${facts.name}${azureSaid(facts)}`,
  };
}

/**
 * Whether an answer had no Key Vault error JSON: a body that is not a JSON object (the backend's
 * policy ends the read), or one the SDK could not parse as JSON (`PARSE_ERROR`, whose text quotes
 * the body) or kept as text, so that its error carries no `error.code`. Key Vault itself always
 * answers an error with that JSON.
 */
function notKeyVaultJson(facts: AzureErrorFacts): boolean {
  return facts.name === notJsonAnswerErrorName || (facts.name === 'RestError' && facts.details === undefined);
}

/**
 * An answer that is not Key Vault's JSON came from something in the path (a proxy's or firewall's
 * block page), or was cut short: its 403 says nothing about roles or access policies, and the
 * SDK's text, which quotes the body, is not Azure's words. A retryable status (a proxy's 502, a
 * 429) keeps its own rule.
 */
function notKeyVaultAnswer(status: number, code: ErrorCode, reference: AzureKvReference): Outcome {
  return {
    code,
    azureError: notKeyVaultJsonError,
    httpStatus: status,
    message: `Key Vault ${reference.vaultUrl} answered HTTP ${status} with a body that is not Key Vault JSON: ${notTheStoreAnswered}. Check HTTPS_PROXY, NO_PROXY and the vault URL`,
  };
}

/** A token the identity SDK could not get: Entra ID's outage, the identity's, or no usable identity. */
function identityFailure(
  facts: AzureErrorFacts,
  reference: AzureKvReference,
  context: AzureKvErrorContext,
): Outcome {
  const outage = entraOutage(facts);
  if (outage?.throttled) {
    return {
      code: 'rate_limited',
      azureError: outage.reason,
      retryAfterMs: entraThrottleRetryAfterMs,
      message: `Microsoft Entra ID did not issue a token (${outage.reason}) for Key Vault ${reference.vaultUrl}: it is throttling the connector's identity (retry after ${entraThrottleRetryAfterMs / 1000} s; the identity SDK keeps no Retry-After)`,
    };
  }
  if (outage !== undefined) {
    return {
      code: 'upstream_unavailable',
      azureError: outage.reason,
      message: `Microsoft Entra ID did not issue a token (${outage.reason}) for Key Vault ${reference.vaultUrl}: check the network path to Microsoft Entra ID (login.microsoftonline.com, or AZURE_AUTHORITY_HOST; proxy, NO_PROXY, firewall) and Azure's status`,
    };
  }
  if (!identityOutage(facts, context)) return noIdentity(facts, reference);
  return {
    code: 'upstream_unavailable',
    azureError: 'CredentialUnavailableError',
    message: `the Azure identity that issued this process's earlier tokens is unavailable${azureSaid(facts)}, so Key Vault ${reference.vaultUrl} cannot be read now: check the managed identity endpoint (IMDS, 169.254.169.254) or the workload identity token file, and Azure's status`,
  };
}

/**
 * The resource Key Vault's challenge named when it is not the vault host's domain. The SDK checks
 * this before it asks for a token and throws a plain Error whose text is the only trace
 * (@azure/keyvault-common 2.1.0 `verifyChallengeResource`); that text suggests a client option the
 * operator cannot set, and the fix is the reference's host.
 */
function challengeResourceMismatch(facts: AzureErrorFacts): string | undefined {
  return /^The challenge resource '([^']+)' does not match the requested domain/.exec(facts.message)?.[1];
}

/** The most specific code Key Vault gave: the inner one (SecretDisabled) over the outer (Forbidden). */
function azureErrorCode(facts: Pick<AzureErrorFacts, 'name' | 'code' | 'details'>): string {
  return facts.details?.error.innerError?.code ?? facts.code ?? facts.name;
}

/** Azure's own wording, sanitised; it names the denied principal or the failing credential. */
function azureSaid(facts: AzureErrorFacts): string {
  const text = sanitizeUpstreamMessage(facts.message);
  return text === '' ? '' : ` (Azure said: ${text})`;
}
