/**
 * Secret values used across the test suite. The global teardown fails the run if any of them
 * appears in the log output of any test.
 */
export const TEST_SECRETS = {
  apiKey: 'tk-alpha-0123456789abcdef',
  apiKey2: 'tk-bravo-fedcba9876543210',
  openAiKey: 'sk-test-openai-5f1c2e9a7b3d',
  rapidApiKey: 'rapid-test-key-8e2d4c6a1f',
  langsmithKey: 'lsv2-test-key-77aa55cc33',
  marketSearchKey: 'tvly-test-key-4b9e2c71d0a6',
} as const;

export const ALL_TEST_SECRETS: readonly string[] = Object.values(TEST_SECRETS);
