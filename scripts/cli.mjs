// Runs a command-line tool of the service from the build (`npm run <tool> -- ...`), building
// first when there is no build yet.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const [tool, ...args] = process.argv.slice(2);
const entry = `dist/src/cli/${tool}.js`;
if (!existsSync(entry)) {
  const build = spawnSync('npm', ['run', 'build', '--silent'], { stdio: 'inherit' });
  if (build.status !== 0) process.exit(build.status ?? 1);
}
const run = spawnSync(process.execPath, [entry, ...args], { stdio: 'inherit' });

process.exit(run.status ?? 1);
