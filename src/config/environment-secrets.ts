/**
 * Environment variables whose whole value is secret, read by the connector or by the cloud SDKs
 * from the process environment: the enrollment token, AWS static and container credentials, and
 * the Azure `EnvironmentCredential`'s client secret, certificate password and user password.
 */
const secretVariables = [
  'CONTROL_PLANE_TOKEN',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'AWS_CONTAINER_AUTHORIZATION_TOKEN',
  'AZURE_CLIENT_SECRET',
  'AZURE_CLIENT_CERTIFICATE_PASSWORD',
  'AZURE_PASSWORD',
] as const;

/** The AWS SDK's bearer tokens, one variable per service (`AWS_BEARER_TOKEN_SECRETSMANAGER`). */
const secretPrefix = 'AWS_BEARER_TOKEN_';

/**
 * Forward proxy URLs, whose `user:password@` is secret: the connector reads the upper-case pair,
 * the Azure SDK's own proxy policy either case and `ALL_PROXY` too.
 */
const proxyVariables = ['HTTPS_PROXY', 'HTTP_PROXY', 'ALL_PROXY'] as const;

/** The authority's userinfo, up to its last `@`, as a URL parser reads it. */
const userinfo = /^[a-z][a-z0-9+.-]*:\/\/([^/?#]*)@/i;

/**
 * The secret values in `env`, for the log scrubber, so an SDK or a proxy error that echoes one is
 * redacted in logs and in job failures. For a proxy URL with a password: its `user:password` and
 * its password, as written and percent-decoded (a `Proxy-Authorization` header and a library's message carry them decoded).
 * Never logged: the caller registers them and says nothing of which were set.
 */
export function environmentSecrets(env: Readonly<Record<string, string | undefined>>): string[] {
  const values: string[] = [];
  const names = Object.keys(env).filter((name) => name.startsWith(secretPrefix));
  for (const name of [...secretVariables, ...names]) {
    const value = env[name];
    if (value) values.push(value, value.trim());
  }
  for (const name of proxyVariables.flatMap((upper) => [upper, upper.toLowerCase()])) {
    const info = userinfo.exec(env[name]?.trim() ?? '')?.[1];
    // A user name alone is not secret, and registered it would redact that word everywhere.
    const colon = info?.indexOf(':') ?? -1;
    if (info === undefined || colon < 0) continue;
    for (const part of [info, info.slice(colon + 1)]) values.push(part, percentDecoded(part));
  }
  return [...new Set(values)].filter((value) => value.length > 0);
}

function percentDecoded(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
