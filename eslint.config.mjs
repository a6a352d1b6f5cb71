// `npm run lint`: typescript-eslint with type information over every TypeScript file of the project (src/,
// sandboxes/, test/, scripts/, bench/, examples/), for the bugs a payment service cannot afford: a promise nobody
// awaits (a write that fails silently, a rejection that kills the process), a promise where a callback's result
// is ignored, a switch over a status that forgets a case, and `any` switching the type checker off.
import js from '@eslint/js';
import { defineConfig, globalIgnores } from 'eslint/config';
import tseslint from 'typescript-eslint';

/** Node's CommonJS globals, for the few plain .js/.mjs files (no `globals` package among the dependencies). */
const NODE_GLOBALS = Object.fromEntries(
  [
    'require',
    'module',
    'exports',
    '__dirname',
    '__filename',
    'process',
    'console',
    'Buffer',
    'setTimeout',
    'clearTimeout',
    'setInterval',
    'clearInterval',
    'setImmediate',
  ].map((name) => [name, 'readonly']),
);

export default defineConfig(
  // Generated (buf/ts-proto, Prisma), built and local data: not ours to lint.
  globalIgnores(['src/gen/', 'src/generated/', 'dist/', 'coverage/', '.data/', 'bench/results/']),

  {
    files: ['**/*.ts'],
    extends: [js.configs.recommended, tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      // The project's tsconfig.json (the one `npm run typecheck` uses) gives every file its types.
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // The reasons this config exists: errors, never warnings.
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      // A `default:` branch does not count: a new OrderStatus or PayWay value must be handled where it is switched on.
      '@typescript-eslint/switch-exhaustiveness-check': [
        'error',
        { considerDefaultExhaustiveForUnions: false, requireDefaultForNonUnion: false },
      ],
      // `_`-prefixed names are deliberately unused (Express's `_req`, destructuring to drop a field).
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
      // Turned off, as noise here:
      // - require-await: an `async` function without `await` is how this code says "returns a promise" (interface
      //   methods, handlers that may throw synchronously into a rejection); the type checker already sees the types.
      '@typescript-eslint/require-await': 'off',
      // - restrict-template-expressions: templates print numbers, bigint fen and enum values on purpose (log lines,
      //   error messages); tsc already rejects objects that lack a useful toString where it matters.
      '@typescript-eslint/restrict-template-expressions': 'off',
    },
  },

  {
    files: ['test/**/*.ts'],
    rules: {
      // Jest's `expect(obj.fn)` and spies pass methods unbound on purpose.
      '@typescript-eslint/unbound-method': 'off',
      // Tests read recorded channel payloads and responses with JSON.parse (typed `any`) and check them at run time
      // with expect(); the no-unsafe-* family would make every fixture read a cast. Writing `any` stays an error.
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },

  {
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    extends: [js.configs.recommended],
    languageOptions: { globals: NODE_GLOBALS },
  },
);
