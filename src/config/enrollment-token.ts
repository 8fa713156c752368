import { readFile } from 'node:fs/promises';

/**
 * What makes an enrollment token unusable, named without its value: empty, or not one token on one
 * line. A token with a space, tab or line break inside (two tokens left in a rotated file) cannot
 * be sent as a bearer token, and an HTTP client that refuses the header quotes it in its error.
 */
export function enrollmentTokenProblem(token: string): string | undefined {
  if (token === '') return 'the enrollment token is empty';
  if (/[\s\p{Cc}]/u.test(token))
    return 'the enrollment token contains whitespace, a line break or a control character (a token file must hold one token on one line)';
  return undefined;
}

/**
 * The token as the daemon sends it: the file's content trimmed (re-read on every call, so a
 * rotated file is used), else the variable. Read errors are the caller's to report.
 */
export async function readEnrollmentToken(controlPlane: {
  readonly token?: string;
  readonly tokenFile?: string;
}): Promise<string> {
  if (!controlPlane.tokenFile) return controlPlane.token ?? '';
  return (await readFile(controlPlane.tokenFile, 'utf8')).trim();
}
