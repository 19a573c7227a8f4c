import { describe, expect, it } from 'vitest';
import { hardenStdin } from './support/in-process.js';

describe('findings on stdin give their reason once', () => {
  it('a connection string credential in Compose on stdin: the folder reason appears once', () => {
    const compose = 'services:\n  app:\n    image: example/app:1\n    environment:\n      DATABASE_URL: postgres://u:pa55word@db/x\n      API_TOKEN: tok-1234\n';
    const { stderr, status } = hardenStdin(compose);
    expect(status).toBe('changed');
    const lines = stderr.split('\n').filter((l) => l.includes('secrets-from-env'));
    expect(lines).toEqual([
      '  <stdin>:5:7  high     secrets-from-env: service "app" has a literal credential in the connection string DATABASE_URL; it moves to secrets/app.env (secret files need the folder of a Compose file (not stdin))',
      '  <stdin>:6:7  high     secrets-from-env: service "app" has a literal API_TOKEN; it moves to secrets/app.env (secret files need the folder of a Compose file (not stdin))',
    ]);
  });
});
