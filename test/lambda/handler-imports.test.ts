import * as fs from 'fs';
import * as path from 'path';

/**
 * A handler's bundle loads every module it imports, the AWS SDK clients of those modules included (the SDK is
 * external, so each client is required when the function starts). A handler that imported another handler paid for
 * that handler's clients at every cold start: shared code lives in lambda/shared/.
 */
const LAMBDA = path.resolve(__dirname, '..', '..', 'lambda');
const handlers = fs.readdirSync(LAMBDA).filter((f) => f.endsWith('.lambda.ts'));

test.each(handlers)('%s imports no other handler', (file) => {
  const source = fs.readFileSync(path.join(LAMBDA, file), 'utf-8');
  const imported = [...source.matchAll(/from '([^']+)'/g)].map((m) => m[1]);
  expect(imported.filter((m) => m.endsWith('.lambda'))).toEqual([]);
});

test('there are handlers to check', () => {
  expect(handlers.length).toBeGreaterThanOrEqual(14);
});
