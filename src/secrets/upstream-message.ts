import { cutText } from '../runtime/cut-text.js';

const redactions: readonly (readonly [RegExp, string])[] = [
  // AWS access key ids (long-term AKIA, temporary ASIA).
  [/\b(?:AKIA|ASIA)[A-Z0-9]{16}\b/g, '[access key id]'],
  [/\bBearer\s+\S+/gi, 'Bearer [REDACTED]'],
  // JWTs: Entra and STS web-identity tokens.
  [/\beyJ[\w-]+\.[\w-]+\.[\w-]*/g, '[token]'],
  [/\b(Signature|X-Amz-Security-Token|X-Amz-Credential)=[^\s&,]+/gi, '$1=[REDACTED]'],
  // Request and correlation ids: no use to the reader, and the brief asks not to carry them.
  [
    /\b(?:x-amzn?-request-?id|x-ms-request-id|request[ -]?id|correlation[ -]?id|trace[ -]?id)\b\s*[:=]?\s*[\w-]+/gi,
    '',
  ],
];

/**
 * An upstream error text made fit for a ConnectorError message, which is logged and may reach the
 * control plane. Kept only where it tells the operator something the code cannot, such as which
 * principal AWS or Azure saw when it denied access. Cut to `maxLength` by `cutText`, which drops the
 * word the cut goes through whole: a registered secret cut in two would escape the log scrubber.
 */
export function sanitizeUpstreamMessage(text: string, maxLength = 400): string {
  let out = text.replace(/\s+/g, ' ').trim();
  for (const [pattern, replacement] of redactions) out = out.replace(pattern, replacement);
  out = out.replace(/\s{2,}/g, ' ').trim();
  return cutText(out, maxLength);
}

/**
 * A socket or resolver errno (ECONNRESET, ENOTFOUND, EAI_AGAIN, …): the network path, worth a
 * retry. Not Node's own ERR_* codes (ERR_TLS_CERT_ALTNAME_INVALID needs a fix, not a retry).
 */
export function isNetworkErrno(code: string): boolean {
  return /^E[A-Z]+$/.test(code) || /^EAI_[A-Z]+$/.test(code);
}

/** Why a store's endpoint answered with a body that is not the store's JSON (a block page, say). */
export const notTheStoreAnswered =
  'something in the path answered in its place (a proxy, a firewall, a TLS-inspecting gateway), or the answer was cut short';

/**
 * Node's codes for a certificate it would not trust (SELF_SIGNED_CERT_IN_CHAIN,
 * UNABLE_TO_VERIFY_LEAF_SIGNATURE, CERT_HAS_EXPIRED, ERR_TLS_CERT_ALTNAME_INVALID…), which the
 * Azure and AWS SDKs pass on as the error's code. Retryable like the Atlas and control-plane clients' TLS
 * failures: a proxy's certificate may be fixed while the job still has attempts left.
 */
export function isTlsVerificationCode(code: string): boolean {
  return /CERT|^UNABLE_TO_|^HOSTNAME_MISMATCH$|^ERR_(?:TLS|SSL)_/.test(code);
}
