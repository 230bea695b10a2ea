import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { isNoScript } from './redis-reply-errors.js';

/** An argument of a Redis command: text, a number or raw bytes. */
export type RedisArgument = string | number | Buffer;

/**
 * A Lua script run with `EVALSHA`, falling back to `EVAL` when the server does not know it
 * yet (first use, or after a restart flushed its script cache). Replies come back as
 * Buffers (strings) and numbers (integers).
 *
 * @example
 * ```ts
 * const touch = new LuaScript('touch', "return redis.call('XLEN', KEYS[1])");
 * const length = await touch.run(redis, ['orders'], []);
 * ```
 */
export class LuaScript {
  readonly sha: string;

  constructor(
    readonly name: string,
    readonly source: string,
  ) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  async run(
    redis: Redis,
    keys: readonly string[],
    args: readonly RedisArgument[],
  ): Promise<unknown> {
    try {
      return await redis.callBuffer('EVALSHA', [this.sha, keys.length, ...keys, ...args]);
    } catch (error) {
      if (!isNoScript(error)) throw error;
      return redis.callBuffer('EVAL', [this.source, keys.length, ...keys, ...args]);
    }
  }
}
