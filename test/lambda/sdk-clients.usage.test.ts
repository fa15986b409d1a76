/**
 * Every SDK client of the handlers is built from the one retry configuration (lambda/shared/sdk-clients.ts): a client
 * made with its own settings (or none, or `maxAttempts: 1`) would retry differently from the rest.
 */
import * as fs from 'fs';
import * as path from 'path';

const LAMBDA = path.join(__dirname, '..', '..', 'lambda');

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) return sources(file);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [file] : [];
  });
}

test('every `new <Service>Client(...)` in lambda/ takes sdkClientConfig(...)', () => {
  const constructions = sources(LAMBDA).flatMap((file) =>
    [...fs.readFileSync(file, 'utf-8').matchAll(/new ([A-Za-z0-9]+Client)\(([^)]*)/g)].map((m) => ({
      where: `${path.relative(LAMBDA, file)}: new ${m[1]}(${m[2]}`,
      shared: m[2].startsWith('sdkClientConfig('),
    })),
  );
  expect(constructions.length).toBeGreaterThanOrEqual(10);
  expect(constructions.filter((c) => !c.shared).map((c) => c.where)).toEqual([]);
});
