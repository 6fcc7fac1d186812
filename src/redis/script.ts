import { createHash } from 'node:crypto';
import type { RedisClient } from './clients.js';

/** A Lua script run by EVALSHA, falling back to EVAL once when Redis lost its script cache (restart). */
export class LuaScript {
  readonly sha: string;
  constructor(readonly source: string) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  async run(client: RedisClient, keys: string[], args: string[]): Promise<unknown> {
    try {
      return await client.evalSha(this.sha, { keys, arguments: args });
    } catch (err) {
      if (err instanceof Error && err.message.startsWith('NOSCRIPT')) {
        return client.eval(this.source, { keys, arguments: args });
      }
      throw err;
    }
  }
}
