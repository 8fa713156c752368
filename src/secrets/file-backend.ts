import * as fs from 'node:fs/promises';
import { z } from 'zod';
import { cancelledError, ConnectorError, isConnectorError } from '../errors/connector-error.js';
import type { ErrorCode } from '../errors/error-codes.js';
import type { SecretBackendFactory } from './secret-backend.js';
import { quoteReference, type FileReference } from './secret-reference.js';

/** The two file-system calls the backend makes; tests substitute failures the OS cannot stage. */
export interface SecretFileSystem {
  stat(path: string): Promise<{ isFile(): boolean; readonly size: number }>;
  readFile(path: string, options: { signal: AbortSignal }): Promise<Uint8Array>;
}

export interface FileSettings {
  readonly fileSystem?: SecretFileSystem;
}

/** An Atlas credential is well under 1 KiB; anything this large is the wrong file. */
const maxBytes = 64 * 1024;

const ErrnoSchema = z.object({ code: z.string() });

const errnoOutcomes: Readonly<Record<string, { code: ErrorCode; problem: string }>> = {
  ENOENT: {
    code: 'secret_not_found',
    problem: 'does not exist (is the Kubernetes secret mounted at this path?)',
  },
  ENOTDIR: { code: 'secret_not_found', problem: 'does not exist (a parent is not a directory)' },
  EACCES: {
    code: 'forbidden',
    problem: "is not readable by the connector's user (check the volume's defaultMode and the pod's fsGroup)",
  },
  EPERM: { code: 'forbidden', problem: "is not readable by the connector's user" },
  // Passing conditions (file handles used up under load, a busy file): failed for good, the job
  // waiting on the credential (a revoke) would never run again.
  ...Object.fromEntries(
    ['EMFILE', 'ENFILE', 'EAGAIN', 'EBUSY', 'EINTR'].map((errno) => [
      errno,
      { code: 'upstream_unavailable', problem: `could not be read for now (${errno}); the read is retried` },
    ]),
  ),
};

/**
 * `file:///absolute/path`, typically a Kubernetes secret mounted as a volume. Read on every
 * resolution (the cache decides how often), so a rotated secret is seen once the kubelet has
 * refreshed the mount.
 */
export const createFileBackend: SecretBackendFactory<'file'> = (settings) => {
  const { stat, readFile } = settings.file?.fileSystem ?? fs;
  return { read: (reference, signal) => readSecretFile(reference, signal, stat, readFile) };
};

async function readSecretFile(
  reference: FileReference,
  signal: AbortSignal,
  stat: SecretFileSystem['stat'],
  readFile: SecretFileSystem['readFile'],
): Promise<string> {
  try {
    const stats = await stat(reference.path);
    if (!stats.isFile()) {
      const hint = "name the key's file inside the mounted directory";
      throw fileError(reference, 'config_invalid', `is not a regular file (${hint})`);
    }
    if (stats.size > maxBytes) {
      throw fileError(reference, 'secret_invalid', `is larger than ${maxBytes / 1024} KiB`);
    }
    const text = utf8Text(await readFile(reference.path, { signal }), reference);
    if (text.trim() === '') throw fileError(reference, 'secret_invalid', 'is empty');
    return text;
  } catch (error) {
    if (isConnectorError(error)) throw error;
    if (signal.aborted) throw cancelledError(signal.reason);
    throw errnoError(error, reference);
  }
}

/**
 * The file's bytes as UTF-8, as the AWS backend reads a SecretBinary. Decoding leniently would turn
 * a UTF-16 file into text that is "not JSON", or a stray Latin-1 byte into U+FFFD inside a key that
 * Atlas then refuses, neither pointing at the encoding.
 */
function utf8Text(bytes: Uint8Array, reference: FileReference): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    const hint = 'save it as UTF-8; Windows PowerShell 5 writes UTF-16 by default';
    throw fileError(reference, 'secret_invalid', `is not UTF-8 text (${hint})`);
  }
}

function errnoError(error: unknown, reference: FileReference): ConnectorError {
  const parsed = ErrnoSchema.safeParse(error);
  const errno = parsed.success ? parsed.data.code : 'unknown';
  const outcome = (Object.hasOwn(errnoOutcomes, errno) ? errnoOutcomes[errno] : undefined) ?? {
    code: 'internal' as const,
    problem: `could not be read (${errno})`,
  };
  return fileError(reference, outcome.code, outcome.problem);
}

function fileError(reference: FileReference, code: ErrorCode, problem: string): ConnectorError {
  return new ConnectorError({
    code,
    message: `secret ${quoteReference(reference.reference)}: file ${reference.path} ${problem}`,
    details: { secretRef: reference.reference, backend: 'file' },
  });
}
