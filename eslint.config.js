import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', '.bench/', 'coverage/', 'scratch/', '.doc-snippets/'] },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      globals: { ...globals.node },
      parserOptions: {
        projectService: { allowDefaultProject: ['scripts/packed-package-app.ts'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      'no-console': 'off',
      // numbers in log and error messages are the common, harmless case
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
      // arrow shorthands that return a void call (`() => stop$.next()`) are idiomatic in callbacks
      '@typescript-eslint/no-confusing-void-expression': ['error', { ignoreArrowShorthand: true }],
      // defensive checks against untyped input are deliberate: callers may pass bad values from JS
      '@typescript-eslint/no-unnecessary-condition': 'off',
      // mocha/sinon patterns pass methods around unbound (stubs, spies, assertions)
      '@typescript-eslint/unbound-method': 'off',
      // `void` is used as a type argument (Observable<void>, Promise<void> unions) on purpose
      '@typescript-eslint/no-invalid-void-type': 'off',
      // passing on a caught `unknown` error or an `any` signal.reason unchanged is a re-throw,
      // which only-throw-error allows by default too; wrapping it would change what callers see
      '@typescript-eslint/prefer-promise-reject-errors': [
        'error',
        { allowThrowingAny: true, allowThrowingUnknown: true },
      ],
    },
  },
  {
    files: ['bench/**/*.ts'],
    languageOptions: { parserOptions: { projectService: false, project: './tsconfig.bench.json' } },
  },
  {
    files: ['spec/**/*.ts', 'faults/**/*.ts', 'bench/**/*.ts'],
    rules: {
      // non-null assertions on fixtures the test itself just set up; a wrong one fails the test loudly
      '@typescript-eslint/no-non-null-assertion': 'off',
      // async stubs and mocha callbacks keep the real signature without needing an await
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    files: ['spec/**/*.ts', 'faults/**/*.ts'],
    rules: { '@typescript-eslint/no-unused-expressions': 'off' },
  },
  {
    files: ['**/*.js'],
    ...tseslint.configs.disableTypeChecked,
  },
);
