import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'helm/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  { files: ['**/*.js', '**/*.mjs'], languageOptions: { globals: globals.node } },
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      'no-console': 'error',
    },
  },
  {
    // Below the composition root nothing reads the environment, the wall clock or global fetch:
    // they come in through the runtime ports so tests can replace them.
    files: ['src/**/*.ts'],
    ignores: ['src/runtime/**', 'src/cli.ts', 'src/main.ts', 'src/**/*.test.ts', 'src/sandbox/**'],
    rules: {
      'no-restricted-properties': [
        'error',
        { object: 'process', property: 'env', message: 'Read configuration in src/config and pass it down.' },
        { object: 'Date', property: 'now', message: 'Use the injected Clock.' },
        { object: 'Math', property: 'random', message: 'Use the injected Random.' },
      ],
      'no-restricted-globals': ['error', { name: 'fetch', message: 'Use the injected Fetch port.' }],
    },
  },
  {
    // An ES-module import of node:http makes Node 24 load undici, http2 and web streams that the
    // daemon never uses (src/runtime/node-http.ts says why and by how much).
    files: ['src/**/*.ts'],
    ignores: ['src/**/*.test.ts', 'src/sandbox/**'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: ['node:http', 'http'].map((name) => ({
            name,
            allowTypeImports: true,
            message: "Take `http` from src/runtime/node-http.ts; `import type` from 'node:http' is fine.",
          })),
        },
      ],
    },
  },
  // Import boundaries (docs/architecture.md): the layers below never reach up. Tests (and test/kits/)
  // may use the sandbox and the fakes; production code may not.
  ...[
    {
      files: ['src/worker/**/*.ts'],
      banned: ['adapters'],
      why: 'the worker runs job handlers; it never knows an adapter',
    },
    {
      files: ['src/atlas/**/*.ts'],
      banned: ['adapters', 'worker', 'secrets', 'sandbox'],
      why: 'the Atlas client knows HTTP and Atlas only; credentials come in through its CredentialSource port',
    },
    {
      files: ['src/adapters/**/*.ts'],
      banned: ['sandbox'],
      why: 'adapters talk to Atlas through the client, never to the simulator',
    },
  ].map(({ files, banned, why }) => ({
    files,
    ignores: ['src/**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: banned.map((folder) => ({ group: [`**/${folder}/**`, `../${folder}/*`], message: why })),
        },
      ],
    },
  })),
  {
    files: ['src/cli.ts', 'src/cli/**/*.ts', 'bench/**/*.ts', 'test/**/*.ts', 'src/sandbox/demo*.ts'],
    rules: { 'no-console': 'off' },
  },
);
