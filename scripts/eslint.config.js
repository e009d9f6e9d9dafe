// `npm run lint`: the checks tsc cannot make. The store is async (issue 11), and a store call
// neither awaited nor returned is a write that may land after its transaction, or never.
import tseslint from 'typescript-eslint';

export default [
  {
    files: ['src/**/*.ts', 'test/**/*.ts'],
    languageOptions: { parser: tseslint.parser, parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname + '/..' } },
    plugins: { '@typescript-eslint': tseslint.plugin },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      // A promise where a boolean or a void callback is expected (`if (store.events.has(id))`).
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: false }],
    },
  },
];
