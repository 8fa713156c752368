import type { RouteDef } from './context.js';
import { atlasError } from './errors.js';

const vendorType = /^application\/vnd\.atlas\.(\d{4}-\d{2}-\d{2}|preview)\+json$/;

export function versionedMediaType(version: string): string {
  return `application/vnd.atlas.${version}+json`;
}

/** The versions named by an Accept or Content-Type header, ignoring parameters such as charset. */
function vendorVersions(header: string | undefined): string[] {
  if (header === undefined) return [];
  return header
    .split(',')
    .map((part) => part.split(';')[0]?.trim().toLowerCase() ?? '')
    .flatMap((type) => {
      const match = vendorType.exec(type);
      return match?.[1] ? [match[1]] : [];
    });
}

/**
 * Picks the version the Accept header asks for. Atlas never falls back to a default: no versioned
 * type, `application/json`, `*\/*` or a date the operation does not declare is a 406; a declared
 * version whose sunset date has arrived is a 410.
 */
export function negotiateVersion(accept: string | undefined, route: RouteDef, now: number): string {
  const requested = vendorVersions(accept);
  const declared = requested
    .map((date) => route.versions.find((v) => v.date === date))
    .find((v) => v !== undefined);
  if (!declared) throw atlasError('INVALID_VERSION_DATE');
  if (declared.sunset !== undefined && Date.parse(`${declared.sunset}T00:00:00Z`) <= now) {
    throw atlasError('VERSION_GONE');
  }
  return declared.date;
}

/** A request body must be sent as the same versioned media type as the one negotiated. */
export function checkContentType(contentType: string | undefined, version: string): void {
  const sent = vendorVersions(contentType);
  if (sent.length !== 1 || sent[0] !== version) {
    throw atlasError('UNSUPPORTED_MEDIA_TYPE', contentType ?? '(none)', versionedMediaType(version));
  }
}
