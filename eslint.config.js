// Lint: typescript-eslint's strict and stylistic type-checked rules over the TypeScript of src/,
// tests/ and the configs; plain JavaScript (bin/, k8s/chaos, the bench's helper) gets the
// untyped recommended rules. Formatting is Prettier's: eslint-config-prettier turns off the rules
// it owns, and `npm run lint` checks both.
import eslint from '@eslint/js';
import prettier from 'eslint-config-prettier';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/', '.data/'] },
  eslint.configs.recommended,
  tseslint.configs.strictTypeChecked,
  tseslint.configs.stylisticTypeChecked,
  {
    languageOptions: {
      globals: { ...globals.node },
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // Numbers in messages and URLs (`port ${port}`) are what templates are for.
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
      // `() => res.end()` and `(x) => void f(x)` read as what they are.
      '@typescript-eslint/no-confusing-void-expression': ['error', { ignoreArrowShorthand: true, ignoreVoidOperator: true }],
      // Express tells an error handler by its four parameters: `_next` must stay.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      // An async method that implements a Promise-returning interface may have nothing to await.
      '@typescript-eslint/require-await': 'off',
      // @kubernetes/client-node declares its models (V1Lease, V1Scale, …) as classes, but they are
      // plain JSON on the wire and the client serializes object literals just the same.
      '@typescript-eslint/no-unsafe-class-instance-assignment': 'off',
      '@typescript-eslint/no-misused-spread': [
        'error',
        { allow: [{ from: 'package', package: '@kubernetes/client-node', name: ['V1Lease', 'V1LeaseSpec', 'V1ObjectMeta', 'V1MicroTime'] }] },
      ],
    },
  },
  {
    files: ['src/web/**/*.{ts,tsx}'],
    languageOptions: { globals: { ...globals.browser } },
  },
  {
    files: ['tests/**/*.ts'],
    rules: {
      // Tests index into what they just asserted the shape of.
      '@typescript-eslint/no-non-null-assertion': 'off',
      // What beforeAll assigns is typed as assigned, but is not when setup failed: afterAll's
      // optional chains (`h?.cleanup()`) are deliberate.
      '@typescript-eslint/no-unnecessary-condition': 'off',
      // vitest's asymmetric matchers (expect.any, expect.stringContaining) are typed any.
      '@typescript-eslint/no-unsafe-assignment': 'off',
    },
  },
  {
    // Rendered Helm manifests, CRDs and API objects are untyped data read by path in assertions: a wrong path
    // fails the assertion, which is the check these files make.
    files: ['tests/chart/**/*.ts', 'tests/unit/controller/queue-scaler.test.ts', 'tests/integration/controller/kubernetes.test.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  { files: ['**/*.js', '**/*.mjs'], extends: [tseslint.configs.disableTypeChecked] },
  prettier,
);
