import { describe, expect, it } from 'vitest';
import { bypassesProxy, createOutboundAgent } from './outbound-agent.js';

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
});
