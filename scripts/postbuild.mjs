// After a build: make the CLI executable and link it as node_modules/.bin/cuirass, so that
// `npx cuirass` runs this checkout right after `npm ci` (npx does not look at the root
// package's own "bin", and would otherwise try the registry).
import { chmodSync, existsSync, lstatSync, mkdirSync, symlinkSync, unlinkSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const cli = fileURLToPath(new URL('../dist/src/cli.js', import.meta.url));
const binDir = fileURLToPath(new URL('../node_modules/.bin/', import.meta.url));
if (existsSync(cli)) {
  chmodSync(cli, 0o755);
  if (existsSync(fileURLToPath(new URL('../node_modules/', import.meta.url)))) {
    mkdirSync(binDir, { recursive: true });
    const link = `${binDir}cuirass`;
    try {
      if (lstatSync(link)) unlinkSync(link);
    } catch {
      // no link yet
    }
    symlinkSync('../../dist/src/cli.js', link);
  }
}
