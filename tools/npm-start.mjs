// `npm start`: install dependencies and build when needed, make redis-server and nginx available
// (as root on Debian: installed without starting their services), then run the launcher
// (tools/start.ts, through tsx) in this same process, so every signal npm or a terminal sends
// reaches it directly.
import { ensureBuild, ensureDependencies, ensurePrograms, installHint, say } from './setup.mjs';

ensureDependencies();
ensureBuild();
const needRedis = (process.env.REDIS_URL ?? '') === '';
const missing = ensurePrograms([...(needRedis ? ['redis-server'] : []), 'nginx']);
if (missing.length > 0) {
  say(`Missing ${missing.join(' and ')}. Install with:\n  ${installHint(missing)}`);
  if (needRedis) say('(Or set REDIS_URL to use an existing Redis.)');
  process.exit(1);
}
const { register } = await import('tsx/esm/api');
register();
const { main } = await import('./start.ts');
process.exit(await main(process.argv.slice(2)));
