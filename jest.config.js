/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test', '<rootDir>/src'],
  testMatch: ['**/*.test.ts'],
  transform: {
    // Type checking is `npm run typecheck`; Jest only transpiles, which keeps the suite fast.
    '^.+\\.ts$': ['ts-jest', { diagnostics: false }],
  },
  // A run that finished but cannot exit (a leaked handle) says why and ends instead of hanging CI.
  reporters: ['default', '<rootDir>/test/support/exit-watch-reporter.js'],
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  // Component tests share one MariaDB and Redis; two cores do not gain from parallel workers.
  maxWorkers: 1,
  // A bound for a stuck test, not a speed target: on a busy 2-core machine a sound test can take half a minute.
  testTimeout: 60000,
};
