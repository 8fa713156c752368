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
    files: ['src/cli.ts', 'src/cli/**/*.ts', 'bench/**/*.ts', 'test/**/*.ts', 'src/sandbox/demo*.ts'],
    rules: { 'no-console': 'off' },
  },
);
