import type { RouteDef, VersionDef } from './context.js';
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
 * The version an operation serves for a requested date: the newest one it declares that is not
 * later than that date (`preview` only when asked for by name). The spec's own example asks
 * `GET /orgs`, which declares only 2023-01-01, for 2025-03-12, and MongoDB's mongodb-mcp-server
 * sends one date to every operation: a later date gets the representation in force on that date.
 */
function servedFor(route: RouteDef, date: string): VersionDef | undefined {
  if (date === 'preview') return route.versions.find((v) => v.date === 'preview');
  return route.versions
    .filter((v) => v.date !== 'preview' && v.date <= date)
    .reduce<VersionDef | undefined>((newest, v) => (newest && newest.date > v.date ? newest : v), undefined);
}

/**
 * Picks the version the Accept header asks for (see `servedFor`). Atlas never falls back to a
 * default: no versioned type, `application/json`, `*\/*` or a date older than every version the
 * operation declares is a 406; a served version whose sunset date has arrived is a 410.
 */
export function negotiateVersion(accept: string | undefined, route: RouteDef, now: number): string {
  const served = vendorVersions(accept)
    .map((date) => servedFor(route, date))
    .find((v) => v !== undefined);
  if (!served) throw atlasError('INVALID_VERSION_DATE');
  if (served.sunset !== undefined && Date.parse(`${served.sunset}T00:00:00Z`) <= now) {
    throw atlasError('VERSION_GONE');
  }
  return served.date;
}

/** A request body must be sent as a versioned media type that selects the negotiated version. */
export function checkContentType(contentType: string | undefined, route: RouteDef, version: string): void {
  const sent = vendorVersions(contentType);
  if (sent.length !== 1 || servedFor(route, sent[0] ?? '')?.date !== version) {
    throw atlasError('UNSUPPORTED_MEDIA_TYPE', contentType ?? '(none)', versionedMediaType(version));
  }
}
