import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { EnvSchema, loadConfig } from './env.js';
import { parseDurationMs } from './duration.js';

const remote = {
  CONTROL_PLANE_URL: 'https://cp.example.com',
  CONTROL_PLANE_TOKEN: 'tok-123456',
  CONNECTOR_ID: 'prod-eu-1',
};

function problemsOf(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('expected the configuration to be refused');
}

describe('loadConfig', () => {
  it('runs the sandbox with defaults when nothing is configured', () => {
    const config = loadConfig({});
    expect(config.mode).toBe('sandbox');
    expect(config.admin.port).toBe(8081);
    expect(config.maxConcurrentJobs).toBe(4);
    expect(config.policy.maxGrantTtlMs).toBe(12 * 3_600_000);
    expect(config.policy.allowAdminRoles).toBe(false);
    expect(Object.isFrozen(config.policy)).toBe(true);
  });

  it('reads a numeric variable set to nothing as unset: its default, not 0', () => {
    const config = loadConfig({
      ADMIN_PORT: '',
      MAX_WAITING_JOBS: ' ',
      ATLAS_MAX_RETRIES: '',
      SECRET_CACHE_TTL_SECONDS: '',
      ADMIN_METRICS_PORT: ' ',
    });
    expect(config.admin.port).toBe(8081);
    expect(config.maxWaitingJobs).toBe(32);
    expect(config.atlas.maxRetries).toBe(4);
    expect(config.secretCacheTtlMs).toBe(300_000);
    expect(config.admin.metricsPort).toBeUndefined();
  });

  it('reads a text variable with a default set to nothing as unset, as .env.example promises', () => {
    // `LOG_LEVEL: ${LOG_LEVEL}` in a compose file, or `X=` in an env file, hands the daemon "".
    const blanks = [
      'ADMIN_HOST',
      'ADMIN_METRICS_HOST',
      'LOG_LEVEL',
      'POLICY_MAX_GRANT_TTL',
      'ATLAS_BASE_URL',
      'ATLAS_INVITATION_WINDOW',
      'SANDBOX_ATLAS_PUBLIC_KEY',
      'SANDBOX_ATLAS_PRIVATE_KEY',
      'SANDBOX_DEMO',
    ];
    expect(loadConfig(Object.fromEntries(blanks.map((name) => [name, ''])))).toEqual(loadConfig({}));
    expect(loadConfig({ ADMIN_HOST: '  ', LOG_LEVEL: ' ' }).admin.host).toBe('0.0.0.0');
  });

  it.each(['LOG_FORMAT', 'POLICY_ALLOW_ADMIN_ROLES', 'ATLAS_RATE_LIMITS_FROM_API', 'CONTROL_PLANE_URL'])(
    'reads %s set to blanks as unset, as every other variable',
    (name) => {
      // `X= ` in an env file: refused, where every other variable so set takes its default.
      expect(loadConfig({ [name]: ' ' })).toEqual(loadConfig({}));
      expect(loadConfig({ [name]: '\n' })).toEqual(loadConfig({}));
    },
  );

  it('refuses a metrics port equal to the admin port, which would fail the start with a port clash', () => {
    expect(problemsOf({ ADMIN_METRICS_PORT: '8081' })).toMatch(
      /ADMIN_METRICS_PORT: must differ from ADMIN_PORT \(8081\)/,
    );
    expect(problemsOf({ ADMIN_PORT: '9000', ADMIN_METRICS_PORT: '9000' })).toMatch(/ADMIN_METRICS_PORT/);
    expect(loadConfig({ ADMIN_PORT: '0', ADMIN_METRICS_PORT: '0' }).admin.metricsPort).toBe(0);
    expect(loadConfig({ ADMIN_METRICS_PORT: '9090' }).admin.metricsPort).toBe(9090);
  });

  it.each([
    ['MAX_CONCURRENT_JOBS', 'four', 'must be a whole number from 1 to 64'],
    ['MAX_CONCURRENT_JOBS', '1.5', 'must be a whole number from 1 to 64'],
    ['MAX_CONCURRENT_JOBS', '65', 'must be a whole number from 1 to 64'],
    ['DRAIN_TIMEOUT_SECONDS', '0', 'must be a whole number from 1 to 3600'],
    ['ADMIN_PORT', '99999', 'must be a port number from 0 to 65535'],
    ['ADMIN_METRICS_PORT', 'metrics', 'must be a port number from 0 to 65535'],
  ])('refuses %s=%s saying what it accepts', (name, value, message) => {
    expect(problemsOf({ [name]: value })).toContain(`${name}: ${message}`);
  });

  it.each([
    ['LOG_LEVEL', 'info\n'],
    ['SANDBOX_DEMO', 'off\n'],
    ['POLICY_ALLOW_ADMIN_ROLES', ' true'],
    ['SANDBOX_ATLAS_PUBLIC_KEY', 'sandboxp\r\n'],
    ['CONNECTOR_ID', 'prod-eu-1\n'],
  ])('refuses %s=%j saying that blanks around the value are the matter', (name, value) => {
    // A ConfigMap key made from a file keeps its final newline; the error never shows the value,
    // so without this an operator reads "expected one of … info …" for LOG_LEVEL=info.
    expect(problemsOf({ ...remote, [name]: value })).toMatch(
      new RegExp(`^ {2}- ${name}: .*\\(the value has a space or line break before or after it`, 'm'),
    );
  });

  it('says nothing of blanks when they are not around the value', () => {
    expect(problemsOf({ LOG_LEVEL: 'loud' })).not.toContain('line break');
  });

  it('refuses a proxy without a scheme, naming the variable', () => {
    const message = problemsOf({ HTTPS_PROXY: 'proxy.corp:3128', HTTP_PROXY: '10.0.0.1:3128' });
    expect(message).toMatch(/HTTPS_PROXY: must be an absolute http:\/\/ or https:\/\/ URL/);
    expect(message).toMatch(/HTTP_PROXY: must be an absolute http:\/\/ or https:\/\/ URL/);
    expect(loadConfig({ HTTPS_PROXY: 'http://proxy.corp:3128', HTTP_PROXY: '' }).http).toEqual({
      httpsProxy: 'http://proxy.corp:3128',
    });
  });

  it('parses a remote configuration with policy lists and durations', () => {
    const config = loadConfig({
      ...remote,
      POLICY_ALLOWED_PROJECT_IDS: '5f1d7f3e8b1e4a0012345678, 6a1d7f3e8b1e4a0012345678',
      POLICY_ALLOWED_ROLES: 'read,readWrite',
      POLICY_MAX_GRANT_TTL: '1h30m',
      DRAIN_TIMEOUT_SECONDS: '30',
    });
    expect(config.mode).toBe('remote');
    expect(config.policy.allowedProjectIds).toEqual(['5f1d7f3e8b1e4a0012345678', '6a1d7f3e8b1e4a0012345678']);
    expect(config.policy.allowedRoles).toEqual(['read', 'readWrite']);
    expect(config.policy.maxGrantTtlMs).toBe(5_400_000);
    expect(config.drainTimeoutMs).toBe(30_000);
  });

  it('refuses an org or project role list an atlas-org-portal grant could never match, naming the variable', () => {
    const message = problemsOf({
      POLICY_ALLOWED_ORG_ROLES: 'ORG_READ_ONLY,ORG_BILING_ADMIN',
      POLICY_ALLOWED_PROJECT_ROLES: 'group_read_only',
    });
    expect(message).toMatch(/POLICY_ALLOWED_ORG_ROLES\.1: each org role must be one of ORG_OWNER, /);
    expect(message).toMatch(/POLICY_ALLOWED_PROJECT_ROLES\.0: each project role must be an Atlas role name/);
    const config = loadConfig({
      POLICY_ALLOWED_ORG_ROLES: 'ORG_READ_ONLY, ORG_OWNER',
      POLICY_ALLOWED_PROJECT_ROLES: 'GROUP_READ_ONLY,GROUP_FUTURE_ROLE',
    });
    expect(config.policy.allowedOrgRoles).toEqual(['ORG_READ_ONLY', 'ORG_OWNER']);
    expect(config.policy.allowedProjectRoles).toEqual(['GROUP_READ_ONLY', 'GROUP_FUTURE_ROLE']);
  });

  it('reports every problem at once, each with its variable name', () => {
    const message = problemsOf({
      ADMIN_PORT: 'eighty',
      MAX_CONCURRENT_JOBS: '0',
      LOG_LEVEL: 'loud',
      POLICY_MAX_GRANT_TTL: 'forever',
      POLICY_ALLOWED_PROJECT_IDS: 'not-a-project',
    });
    for (const name of [
      'ADMIN_PORT',
      'MAX_CONCURRENT_JOBS',
      'LOG_LEVEL',
      'POLICY_MAX_GRANT_TTL',
      'POLICY_ALLOWED_PROJECT_IDS',
    ]) {
      expect(message).toContain(name);
    }
  });

  it('refuses a job type the connector does not run in POLICY_ALLOWED_JOB_TYPES, naming the variable', () => {
    // A typo such as "revok" would have refused every revoke job (policy_denied) and left the access in place.
    expect(problemsOf({ POLICY_ALLOWED_JOB_TYPES: 'grant, revok' })).toMatch(
      /POLICY_ALLOWED_JOB_TYPES\.1: each job type must be one of ping, discover, grant, revoke, renew, rotate, sweep/,
    );
    expect(loadConfig({ POLICY_ALLOWED_JOB_TYPES: 'grant, revoke,sweep' }).policy.allowedJobTypes).toEqual([
      'grant',
      'revoke',
      'sweep',
    ]);
  });

  it('refuses POLICY_ALLOWED_JOB_TYPES that allows grant but not revoke: no grant could be taken back', () => {
    expect(problemsOf({ POLICY_ALLOWED_JOB_TYPES: 'discover,grant' })).toMatch(
      /POLICY_ALLOWED_JOB_TYPES: allows grant but not revoke/,
    );
    expect(
      loadConfig({ POLICY_ALLOWED_JOB_TYPES: 'discover,revoke,sweep' }).policy.allowedJobTypes,
    ).toHaveLength(3);
  });

  it.each([
    ['32 by default', {}, 32],
    ['0, which turns parking off', { MAX_WAITING_JOBS: '0' }, 0],
    ['1024 at most', { MAX_WAITING_JOBS: '1024' }, 1024],
  ])('reads MAX_WAITING_JOBS: %s', (_case, env, expected) => {
    expect(loadConfig(env).maxWaitingJobs).toBe(expected);
  });

  it.each(['1025', '-1', '2.5', 'many'])('refuses MAX_WAITING_JOBS=%s, naming the variable', (value) => {
    expect(problemsOf({ MAX_WAITING_JOBS: value })).toMatch(/^ {2}- MAX_WAITING_JOBS: /m);
  });

  it('refuses a plain-http control plane unless it is loopback', () => {
    expect(problemsOf({ ...remote, CONTROL_PLANE_URL: 'http://cp.example.com' })).toContain(
      'CONTROL_PLANE_URL: must use https://',
    );
    expect(loadConfig({ ...remote, CONTROL_PLANE_URL: 'http://127.0.0.1:8780' }).mode).toBe('remote');
    expect(loadConfig({ ...remote, CONTROL_PLANE_URL: 'http://localhost:8780' }).mode).toBe('remote');
  });

  it.each([
    ['http://10.0.0.5', false],
    ['ftp://x', false],
    ['http://atlas.example.com', false],
    ['https://cloud.mongodb.com', true],
    ['http://127.0.0.1:8790', true],
    ['http://localhost:8790', true],
    ['http://[::1]:8790', true],
  ])('ATLAS_BASE_URL=%s is accepted: %s (https://, or http:// to loopback only)', (url, accepted) => {
    if (accepted) expect(loadConfig({ ATLAS_BASE_URL: url }).atlas.baseUrl).toBe(url);
    else
      expect(problemsOf({ ATLAS_BASE_URL: url })).toContain(
        'ATLAS_BASE_URL: must use https:// (plain http:// is accepted only for loopback addresses)',
      );
  });

  it.each([
    'https://cloud.mongodb.com/api/atlas/v2',
    'https://cloud.mongodb.com/?envelope=true',
    'https://cloud.mongodb.com#x',
    'https://cloud.mongodb.com?',
    'https://cloud.mongodb.com/#',
  ])('refuses ATLAS_BASE_URL=%s: an origin only, the client adds /api/atlas/v2', (url) => {
    expect(problemsOf({ ATLAS_BASE_URL: url })).toContain(
      'ATLAS_BASE_URL: must be an origin such as https://cloud.mongodb.com, with no path, query or fragment',
    );
  });

  it.each(['https://cp.example.com/?apikey=cp-secret-42', 'https://cp.example.com/jit#cp-secret-42'])(
    'refuses CONTROL_PLANE_URL=%s: the connector appends /connector/v1, which would land in the query or fragment',
    (url) => {
      const message = problemsOf({ ...remote, CONTROL_PLANE_URL: url });
      expect(message).toContain('CONTROL_PLANE_URL: must have no query or fragment');
      expect(message).not.toContain('cp-secret-42');
    },
  );

  it('accepts CONTROL_PLANE_URL with a path under which the control plane is served', () => {
    expect(loadConfig({ ...remote, CONTROL_PLANE_URL: 'https://cp.example.com/jit/' }).controlPlane.url).toBe(
      'https://cp.example.com/jit/',
    );
  });

  it('accepts ATLAS_BASE_URL with a trailing slash, which it drops', () => {
    expect(loadConfig({ ATLAS_BASE_URL: 'https://cloud.mongodb.com/' }).atlas.baseUrl).toBe(
      'https://cloud.mongodb.com',
    );
  });

  it('requires a token and a connector id with a control plane, and never echoes the token', () => {
    const message = problemsOf({ CONTROL_PLANE_URL: 'https://cp.example.com' });
    expect(message).toContain('CONTROL_PLANE_TOKEN');
    expect(message).toContain('CONNECTOR_ID');
    const both = problemsOf({ ...remote, CONTROL_PLANE_TOKEN_FILE: '/run/token', ADMIN_PORT: 'x' });
    expect(both).toContain('CONTROL_PLANE_TOKEN_FILE: set either');
    expect(both).not.toContain('tok-123456');
  });

  it.each([
    ['CONNECTOR_ID', { CONNECTOR_ID: ' ' }, 'CONNECTOR_ID: required when CONTROL_PLANE_URL is set'],
    [
      'CONTROL_PLANE_TOKEN_FILE',
      { CONTROL_PLANE_TOKEN: '', CONTROL_PLANE_TOKEN_FILE: '\n' },
      'CONTROL_PLANE_TOKEN: set it or CONTROL_PLANE_TOKEN_FILE when CONTROL_PLANE_URL is set',
    ],
    [
      'CONTROL_PLANE_TOKEN',
      { CONTROL_PLANE_TOKEN: '  ' },
      'CONTROL_PLANE_TOKEN: set it or CONTROL_PLANE_TOKEN_FILE when CONTROL_PLANE_URL is set',
    ],
  ])('reads %s set to blanks as unset when it is required, as the schema does', (_name, blanks, message) => {
    // The schema read " " as unset while the required check saw it set: a remote connector then
    // registered as the sandbox's "sandbox-connector", or started with no enrollment token at all.
    expect(problemsOf({ ...remote, ...blanks })).toContain(message);
  });

  it('takes CONTROL_PLANE_TOKEN_FILE set to blanks as unset, not as a second token source', () => {
    const config = loadConfig({ ...remote, CONTROL_PLANE_TOKEN_FILE: ' ' });
    expect(config.controlPlane).toEqual({
      url: remote.CONTROL_PLANE_URL,
      token: 'tok-123456',
      tokenFile: undefined,
    });
  });

  it.each(['CONTROL_PLANE_URL', 'ATLAS_BASE_URL'])(
    'refuses %s with user:password@ in it, without echoing the password',
    (name) => {
      const message = problemsOf({ ...remote, [name]: 'https://ops:pw-secret-123456@cp.example.com' });
      expect(message).toContain(`${name}: must not carry a user name or password`);
      expect(message).not.toContain('pw-secret-123456');
    },
  );

  it.each([
    ['a line break (two tokens)', 'cpe_old_4f9a8b7c\ncpe_new_0a1b2c3d'],
    ['a space', 'cpe_old_4f9a8b7c cpe_new_0a1b2c3d'],
    ['a control character', 'cpe_old_4f9a8b7c\u0000cpe_new_0a1b2c3d'],
  ])('refuses a CONTROL_PLANE_TOKEN with %s, naming the variable and not the value', (_case, token) => {
    const message = problemsOf({ ...remote, CONTROL_PLANE_TOKEN: token });
    expect(message).toContain('CONTROL_PLANE_TOKEN: the enrollment token contains whitespace');
    expect(message).not.toContain('cpe_old_4f9a8b7c');
    expect(message).not.toContain('cpe_new_0a1b2c3d');
  });
});

describe('parseDurationMs', () => {
  it.each([
    ['a unit suffix', '90s', 90_000],
    ['days', '7d', 604_800_000],
    ['a compound form', '1h30m', 5_400_000],
    ['bare seconds', '45', 45_000],
    ['words (rejected)', '8 hours', undefined],
    ['nothing (rejected)', '', undefined],
  ])('reads %s: %j', (_case, text, expected) => {
    expect(parseDurationMs(text)).toBe(expected);
  });
});

describe('.env.example', () => {
  it('documents exactly the variables the schema reads', () => {
    const documented = readFileSync(new URL('../../.env.example', import.meta.url), 'utf8')
      .split('\n')
      .filter((line) => /^[A-Z][A-Z0-9_]*=/.test(line))
      .map((line) => line.split('=')[0]);
    expect(documented.sort()).toEqual(Object.keys(EnvSchema.shape).sort());
  });

  it('loads as it ships (docker --env-file, set -a; . ./.env.example), and means the defaults', () => {
    const env = Object.fromEntries(
      readFileSync(new URL('../../.env.example', import.meta.url), 'utf8')
        .split('\n')
        .filter((line) => /^[A-Z][A-Z0-9_]*=/.test(line))
        .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
    );
    expect(loadConfig(env)).toEqual(loadConfig({}));
  });
});

describe('the README’s configuration table', () => {
  const rows = [
    ...readFileSync(new URL('../../README.md', import.meta.url), 'utf8').matchAll(
      /^\| `([A-Z][A-Z0-9_]*)` \| `(\d+)` \| (.*) \|$/gm,
    ),
  ].map(([, name = '', , meaning = '']) => ({ name, range: /\((\d+)-(\d+)\)/.exec(meaning) }));

  it('states the range of every numeric variable, as the error for a value outside it does', () => {
    expect(rows.length).toBeGreaterThan(10);
    expect(rows.filter(({ range }) => range === null).map(({ name }) => name)).toEqual([]);
  });

  it.each(rows.filter(({ range }) => range !== null).map(({ name, range }) => [name, range]))(
    'states %s’s range as the one loadConfig takes',
    (name, range) => {
      const [min, max] = [Number(range?.[1]), Number(range?.[2])];
      expect(loadConfig({ [name]: String(min) })).toBeDefined();
      expect(loadConfig({ [name]: String(max) })).toBeDefined();
      expect(problemsOf({ [name]: String(min - 1) })).toContain(`${name}: must be`);
      expect(problemsOf({ [name]: String(max + 1) })).toContain(`${name}: must be`);
    },
  );
});
