import { describe, expect, it } from 'vitest';
import { secretsOf } from '../../src/app/core-services.js';
import { configFrom } from '../../src/config/config.js';
import { SECRET_VARIABLES } from '../../src/config/env-schema.js';

describe('the log scrubber is given every secret value of the configuration', () => {
  it('covers each variable the schema marks secret', () => {
    const values: Record<string, string> = {
      API_KEYS: 'alpha:alpha-secret-0123456789',
      OPENAI_API_KEY: 'sk-openai-secret-0123',
      RAPIDAPI_KEY: 'rapid-secret-0123',
      MARKET_SEARCH_API_KEY: 'tvly-market-secret-0123',
      LANGSMITH_API_KEY: 'lsv2-langsmith-secret-0123',
      SLACK_BOT_TOKEN: 'xoxb-slack-secret-0123',
      SLACK_SIGNING_SECRET: 'slack-signing-secret-0123',
      SLACK_APP_TOKEN: 'xapp-slack-secret-0123',
      DISCORD_TOKEN: 'discord-secret-0123',
      REDIS_URL: 'redis://:p%40ss%2Fword@127.0.0.1:6379',
    };
    expect(new Set(Object.keys(values))).toEqual(SECRET_VARIABLES);
    const secrets = secretsOf(configFrom(values));
    for (const [name, value] of Object.entries(values)) {
      if (name === 'API_KEYS') expect(secrets).toContain('alpha-secret-0123456789');
      else if (name === 'REDIS_URL')
        expect(secrets).toEqual(expect.arrayContaining(['p%40ss%2Fword', 'p@ss/word']));
      else expect(secrets).toContain(value);
    }
  });
});
