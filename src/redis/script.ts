import { createHash } from 'node:crypto';
import type { z } from 'zod';
import { AppError } from '../errors.js';
import type { RedisClient } from './clients.js';

/**
 * A Lua script's reply was not the shape its decoder expects (a script and its caller out of step,
 * or a key holding foreign data). Code `internal`: handlers and the HTTP edge log it at error level.
 */
export class ScriptReplyError extends AppError {
  constructor(
    readonly script: string,
    readonly problem: string,
  ) {
    super('internal', `Redis script ${script} replied with an unexpected shape: ${problem}`);
    this.name = 'ScriptReplyError';
  }
}

/**
 * Checks `reply` against `schema`: the decoded value, or a ScriptReplyError (code `internal`)
 * naming the script and the first mismatch.
 */
export function decodeReply<S extends z.ZodType>(script: string, schema: S, reply: unknown): z.output<S> {
  const result = schema.safeParse(reply);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  throw new ScriptReplyError(
    script,
    issue ? `${issue.path.join('.') || 'reply'}: ${issue.message}` : 'invalid',
  );
}

/**
 * A Lua script run by EVALSHA, falling back to EVAL once when Redis lost its script cache (restart).
 * Every reply is decoded by the script's own schema before a caller sees it.
 */
export class LuaScript<S extends z.ZodType> {
  readonly sha: string;
  constructor(
    readonly name: string,
    readonly source: string,
    readonly reply: S,
  ) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  /** Runs the script; resolves to its decoded reply, rejects with ScriptReplyError on a wrong shape. */
  async run(client: RedisClient, keys: string[], args: string[]): Promise<z.output<S>> {
    return decodeReply(this.name, this.reply, await this.exec(client, keys, args));
  }

  private async exec(client: RedisClient, keys: string[], args: string[]): Promise<unknown> {
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
