import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { testTempDir } from '../../test/kits/temp-dir-test-kit.js';
import { bypassesProxy, createOutboundAgent } from './outbound-agent.js';

const caPem = readFileSync(join(import.meta.dirname, '../../test/fixtures/tls/ca.pem'), 'utf8');

describe('NO_PROXY matching for the cloud SDKs', () => {
  it.each([
    ['127.0.0.1', 443, '127.0.0.1', true],
    ['vault.azure.com', 443, '.azure.net', false],
    ['myvault.vault.azure.net', 443, '.azure.net', true],
    ['myvault.vault.azure.net', 443, '*.azure.net', true],
    ['sts.amazonaws.com', 443, 'amazonaws.com', true],
    ['notamazonaws.com', 443, 'amazonaws.com', false],
    ['secretsmanager.eu-west-1.amazonaws.com', 443, 'localhost, 10.0.0.1 amazonaws.com', true],
    ['example.com', 8443, 'example.com:443', false],
    ['example.com', 443, 'example.com:443', true],
    ['[::1]', 443, '[::1]', true],
    ['anything.example', 443, '*', true],
    ['anything.example', 443, '', false],
  ])('%s:%i with NO_PROXY=%j bypasses the proxy: %s', (host, port, noProxy, expected) => {
    expect(bypassesProxy(host, port, noProxy)).toBe(expected);
  });
});

describe('createOutboundAgent', () => {
  it('leaves the SDKs their own defaults when neither a proxy nor a CA bundle is configured', () => {
    expect(createOutboundAgent({ noProxy: 'localhost' })).toBeUndefined();
  });

  it('refuses an unreadable CA bundle instead of silently trusting only the system roots', () => {
    expect(() => createOutboundAgent({ caBundleFile: '/nonexistent/ca.pem' })).toThrow(
      expect.objectContaining({
        code: 'config_invalid',
        message: expect.stringMatching(/^CA_BUNDLE_FILE: cannot read \/nonexistent\/ca\.pem \(ENOENT\)/),
      }),
    );
  });

  // Node drops what is not a PEM certificate without a word: the daemon and doctor would start and
  // pass, and every call through the intercepting proxy fail with "unable to get local issuer".
  it.each([
    ['a DER certificate', Buffer.from(caPem.replace(/-----[^-]+-----|\s/g, ''), 'base64')],
    ['an empty file', ''],
    ['a certificate cut short', caPem.slice(0, caPem.length / 2) + '\n-----END CERTIFICATE-----\n'],
  ])('refuses a CA bundle that holds no usable PEM certificate: %s', (_case, content) => {
    const file = join(testTempDir('ca-bundle-'), 'ca.crt');
    writeFileSync(file, content);
    expect(() => createOutboundAgent({ caBundleFile: file })).toThrow(
      expect.objectContaining({
        code: 'config_invalid',
        message: expect.stringMatching(new RegExp(`^CA_BUNDLE_FILE: ${file}`)),
      }),
    );
  });

  it('takes a CA bundle of PEM certificates', () => {
    const file = join(testTempDir('ca-bundle-'), 'ca.pem');
    writeFileSync(file, `${caPem}\n${caPem}`);
    expect(createOutboundAgent({ caBundleFile: file })).toBeDefined();
  });
});
