import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../../test/fakes/fake-clock.js';
import { createFileBackend } from './file-backend.js';
import { parseSecretReference, type FileReference } from './secret-reference.js';

const privateKey = '3f2c8a1e-5b7d-4c9e-a1f0-7e6d5c4b3a21';
const payload = JSON.stringify({ public_key: 'abcdefgh', private_key: privateKey });

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'secrets-file-backend-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function reference(path: string): FileReference {
  const parsed = parseSecretReference(pathToFileURL(path).href);
  if (parsed.kind !== 'file') throw new Error('expected a file reference');
  return parsed;
}

const read = (path: string, signal = new AbortController().signal) =>
  createFileBackend({ env: {}, clock: new FakeClock() }).read(reference(path), signal);

describe('file backend', () => {
  it('reads the file at resolve time', async () => {
    const path = join(dir, 'credentials');
    await writeFile(path, payload);
    await expect(read(path)).resolves.toBe(payload);
    await writeFile(path, `${payload}\n`);
    await expect(read(path)).resolves.toBe(`${payload}\n`);
  });

  it('follows the symlinks of a Kubernetes secret volume', async () => {
    await mkdir(join(dir, '..2026_11_24'));
    await writeFile(join(dir, '..2026_11_24', 'credentials'), payload);
    await symlink('..2026_11_24', join(dir, '..data'));
    await symlink(join('..data', 'credentials'), join(dir, 'credentials'));
    await expect(read(join(dir, 'credentials'))).resolves.toBe(payload);
  });

  it('reports a missing file as secret_not_found, asking whether the secret is mounted', async () => {
    const path = join(dir, 'missing');
    await expect(read(path)).rejects.toMatchObject({
      code: 'secret_not_found',
      message: expect.stringContaining(
        `file ${path} does not exist (is the Kubernetes secret mounted at this path?)`,
      ),
    });
  });

  it('reports an empty file as secret_invalid', async () => {
    const path = join(dir, 'credentials');
    await writeFile(path, '\n');
    await expect(read(path)).rejects.toMatchObject({
      code: 'secret_invalid',
      message: expect.stringContaining('is empty'),
    });
  });

  it.each([
    // Windows PowerShell 5 writes UTF-16 (with its byte order mark) for `>` and Out-File.
    ['UTF-16 text', Buffer.from(`\uFEFF${payload}`, 'utf16le')],
    ['Latin-1 text', Buffer.from(payload.replace('abcdefgh', 'abcdéfgh'), 'latin1')],
  ])(
    'reports a file of %s as secret_invalid, not UTF-8, rather than as text that is not JSON',
    async (_label, bytes) => {
      const path = join(dir, 'credentials');
      await writeFile(path, bytes);
      await expect(read(path)).rejects.toMatchObject({
        code: 'secret_invalid',
        message: `secret "${pathToFileURL(path).href}": file ${path} is not UTF-8 text (save it as UTF-8; Windows PowerShell 5 writes UTF-16 by default)`,
      });
    },
  );

  it('reports a directory as config_invalid, naming what to reference instead', async () => {
    await expect(read(dir)).rejects.toMatchObject({
      code: 'config_invalid',
      message: expect.stringContaining(
        "is not a regular file (name the key's file inside the mounted directory)",
      ),
    });
  });

  it('refuses a file far larger than any credential', async () => {
    const path = join(dir, 'credentials');
    await writeFile(path, 'x'.repeat(64 * 1024 + 1));
    await expect(read(path)).rejects.toMatchObject({
      code: 'secret_invalid',
      message: expect.stringContaining('is larger than 64 KiB'),
    });
  });

  it('reports an unreadable file as forbidden, pointing at the volume mode', async () => {
    // Tests may run as root, for whom chmod 000 is no barrier, so the OS answer is staged.
    const eacces = Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' });
    const fileSystem = {
      stat: () => Promise.resolve({ isFile: () => true, size: payload.length }),
      readFile: () => Promise.reject(eacces),
    };
    const backend = createFileBackend({ env: {}, clock: new FakeClock(), file: { fileSystem } });

    await expect(
      backend.read(reference('/var/run/secrets/atlas/credentials'), new AbortController().signal),
    ).rejects.toMatchObject({
      code: 'forbidden',
      message:
        "secret \"file:///var/run/secrets/atlas/credentials\": file /var/run/secrets/atlas/credentials is not readable by the connector's user (check the volume's defaultMode and the pod's fsGroup)",
    });
  });

  it.each(['EMFILE', 'ENFILE', 'EAGAIN', 'EBUSY', 'EINTR'])(
    'reports %s (the process or system briefly out of file handles, a busy file) as retryable, not as a bug',
    async (errno) => {
      const failure = Object.assign(new Error(`${errno}: try again`), { code: errno });
      const fileSystem = {
        stat: () => Promise.resolve({ isFile: () => true, size: payload.length }),
        readFile: () => Promise.reject(failure),
      };
      const backend = createFileBackend({ env: {}, clock: new FakeClock(), file: { fileSystem } });

      await expect(
        backend.read(reference('/var/run/secrets/atlas/credentials'), new AbortController().signal),
      ).rejects.toMatchObject({
        code: 'upstream_unavailable',
        retryable: true,
        message: `secret "file:///var/run/secrets/atlas/credentials": file /var/run/secrets/atlas/credentials could not be read for now (${errno}); the read is retried`,
      });
    },
  );

  it('reports an abort as cancelled', async () => {
    const path = join(dir, 'credentials');
    await writeFile(path, payload);
    const controller = new AbortController();
    controller.abort();
    await expect(read(path, controller.signal)).rejects.toMatchObject({ code: 'cancelled' });
  });
});
