// Lint: correctness (floating promises), and the layering of DESIGN.md section 5, enforced here
// rather than by goodwill:
// - core/ never imports electron, react or @mui/*;
// - core/contract/ (what the renderer may import) imports nothing from Node;
// - renderer/ imports only the contract (core/contract, core/errors), never the rest of core, Node or Electron.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import reactHooks from 'eslint-plugin-react-hooks';
import globals from 'globals';

const nodeBuiltins = [
  'node:*',
  'fs',
  'path',
  'os',
  'child_process',
  'crypto',
  'net',
  'http',
  'https',
  'tls',
  'stream',
  'worker_threads',
];

export default tseslint.config(
  {
    ignores: [
      '**/.scratch/**',
      '.tmp/**',
      'dist/**',
      'node_modules/**',
      'release/**',
      'test-results/**',
      'playwright-report/**',
      'core/store/migrations/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts', '**/*.tsx'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: false }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: { globals: { ...globals.node } },
  },
  {
    files: ['core/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['electron', 'electron/*'],
              message: 'core must not import electron (DESIGN.md section 5)',
            },
            {
              group: ['react', 'react-dom', 'react/*', 'react-dom/*', '@mui/*'],
              message: 'core must not import react or @mui (DESIGN.md section 5)',
            },
            {
              group: ['**/renderer/**', '**/electron/**', '**/cli/**'],
              message: 'core must not depend on its hosts',
            },
          ],
        },
      ],
    },
  },
  ...[
    { files: ['core/errors.ts'], up: [] },
    {
      files: ['core/contract/*.ts'],
      up: [
        '../*',
        '!../errors.js',
        '!../margo',
        '../margo/*',
        '!../margo/types.js',
        '!../placement',
        '../placement/*',
        '!../placement/types.js',
      ],
    },
    {
      files: ['core/contract/*/**/*.ts'],
      up: [
        '../../*',
        '!../../errors.js',
        '!../../margo',
        '../../margo/*',
        '!../../margo/types.js',
        '!../../placement',
        '../../placement/*',
        '!../../placement/types.js',
      ],
    },
  ].map(({ files, up }) => ({
    files,
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: nodeBuiltins, message: 'the contract is imported by the renderer: no Node modules' },
            { group: ['electron', 'react', '@mui/*'], message: 'the contract stays framework-free' },
            ...(up.length
              ? [{ group: up, message: 'the contract may import only core/errors from the rest of core' }]
              : []),
          ],
        },
      ],
    },
  })),
  {
    files: ['renderer/**/*.ts', 'renderer/**/*.tsx'],
    languageOptions: { globals: { ...globals.browser } },
    plugins: { 'react-hooks': reactHooks },
    rules: {
      ...reactHooks.configs.recommended.rules,
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: nodeBuiltins, message: 'the renderer has no Node: talk to the contract' },
            {
              group: ['electron', 'electron/*'],
              message: 'the renderer never imports electron: use the contract client',
            },
            {
              group: [
                '**/core/*',
                '!**/core/contract',
                '!**/core/errors.js',
                '**/core/*/**',
                '!**/core/contract/**',
              ],
              message: 'the renderer imports only core/contract (and core/errors)',
            },
            {
              group: ['**/agents/**', '**/cli/**', '**/electron/**'],
              message: 'the renderer imports only the contract',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['**/*.test.ts', 'test/**/*.ts', 'bench/**/*.ts'],
    rules: { '@typescript-eslint/no-non-null-assertion': 'off' },
  },
);
