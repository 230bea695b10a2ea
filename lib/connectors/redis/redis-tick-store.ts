import type { TickClaim, TickClaimResult, TickOutcome, TickStore } from '../../core/tick-store.js';
import { UnexpectedReplyError } from './errors.js';
import { LuaScript } from './internal/stream-scripts.js';
import type { RedisServiceConfigInput } from './redis-service-config.js';
import { RedisService } from './redis-service.js';

/** Options of a {@link RedisTickStore}. */
export interface RedisTickStoreOptions {
  /** A service to share (not closed by the store); else one is opened from `connection`. */
  readonly service?: RedisService;
  readonly connection?: RedisServiceConfigInput;
  /** Prefix of the store's keys (default `ergon:ticks`). */
  readonly prefix?: string;
  /** How long settled ticks are kept (ms, default 7 days): older ones are dropped on claims. */
  readonly retention?: number;
}

/**
 * Lua (KEYS: states hash, ticks sorted set; ARGV: tick, owner, lease, exclusive, retention):
 * claims a tick on the server's clock; states are `running|<owner>|<lease until>`, `done|…`,
 * `deadLetter|…`, `skipped|…`.
 */
const claimScript = new LuaScript(
  'tickClaim',
  `
local states, ticks = KEYS[1], KEYS[2]
local tick, owner, lease, exclusive, retention = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4], tonumber(ARGV[5])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local function running(value)
  local state, _, untilText = string.match(value, '^([^|]*)|([^|]*)|([^|]*)')
  return state == 'running' and tonumber(untilText) > now
end
local current = redis.call('HGET', states, tick)
if current then
  local state = string.match(current, '^([^|]*)')
  if state ~= 'running' or running(current) then return 'taken' end
end
if exclusive == '1' then
  local all = redis.call('HGETALL', states)
  for i = 1, #all, 2 do
    if all[i] ~= tick and running(all[i + 1]) then
      redis.call('HSET', states, tick, 'skipped|' .. owner .. '|0')
      redis.call('ZADD', ticks, tick, tick)
      return 'overlap'
    end
  end
end
redis.call('HSET', states, tick, 'running|' .. owner .. '|' .. (now + lease))
redis.call('ZADD', ticks, tick, tick)
local old = redis.call('ZRANGEBYSCORE', ticks, '-inf', '(' .. (tonumber(tick) - retention))
for _, stale in ipairs(old) do
  local value = redis.call('HGET', states, stale)
  if not value or string.match(value, '^([^|]*)') ~= 'running' then
    redis.call('HDEL', states, stale)
    redis.call('ZREM', ticks, stale)
  end
end
return 'claimed'
`,
);

/** Lua (KEYS: states, ticks; ARGV: tick, owner, outcome, error): settles a claimed tick. */
const settleScript = new LuaScript(
  'tickSettle',
  `
local states, ticks = KEYS[1], KEYS[2]
local tick, owner, outcome = ARGV[1], ARGV[2], ARGV[3]
local current = redis.call('HGET', states, tick)
if not current or current:sub(1, #('running|' .. owner .. '|')) ~= 'running|' .. owner .. '|' then
  return 0
end
if outcome == 'released' then
  redis.call('HDEL', states, tick)
  redis.call('ZREM', ticks, tick)
else
  redis.call('HSET', states, tick, outcome .. '|' .. owner .. '|0|' .. ARGV[4])
end
return 1
`,
);

/** Lua (KEYS: states, ticks): the latest tick that is not an expired running claim. */
const latestScript = new LuaScript(
  'tickLatest',
  `
local states, ticks = KEYS[1], KEYS[2]
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local newest = redis.call('ZREVRANGE', ticks, 0, 99)
for _, tick in ipairs(newest) do
  local value = redis.call('HGET', states, tick)
  if value then
    local state, _, untilText = string.match(value, '^([^|]*)|([^|]*)|([^|]*)')
    if state ~= 'running' or tonumber(untilText) > now then return tick end
  end
end
return false
`,
);

/**
 * A {@link TickStore} in Redis, shared by every worker of a schedule: per schedule a hash of
 * tick states and a sorted set of ticks (`<prefix>:{<schedule>}:states|ticks`, one hash slot).
 * Claims, settlements and the latest-tick lookup are Lua scripts on the server's clock, so
 * exactly one worker claims each tick.
 *
 * @example
 * ```ts
 * import { RedisTickStore } from 'ergon-rx/redis';
 * import { intervalConnector } from 'ergon-rx/schedule';
 *
 * const store = new RedisTickStore({ connection: { url: 'redis://cache:6379' } });
 * const ticks = intervalConnector({ every: '1m', payload: {}, store });
 * ```
 */
export class RedisTickStore implements TickStore {
  readonly service: RedisService;
  private readonly ownsService: boolean;
  private readonly prefix: string;
  private readonly retention: number;

  constructor(options: RedisTickStoreOptions = {}) {
    this.service = options.service ?? new RedisService(options.connection);
    this.ownsService = options.service === undefined;
    this.prefix = options.prefix ?? 'ergon:ticks';
    this.retention = options.retention ?? 7 * 24 * 3_600_000;
  }

  async claim(claim: TickClaim): Promise<TickClaimResult> {
    const reply = await claimScript.run(this.service.commands, this.keys(claim.schedule), [
      String(claim.tick),
      claim.owner,
      Math.ceil(claim.lease),
      claim.exclusive ? '1' : '0',
      this.retention,
    ]);
    const text = Buffer.isBuffer(reply) ? reply.toString('latin1') : undefined;
    if (text !== 'claimed' && text !== 'taken' && text !== 'overlap') {
      throw new UnexpectedReplyError('unexpected reply to the tick claim script');
    }
    return text;
  }

  async settle(
    schedule: string,
    tick: number,
    owner: string,
    outcome: TickOutcome,
    error?: string,
  ): Promise<void> {
    await settleScript.run(this.service.commands, this.keys(schedule), [
      String(tick),
      owner,
      outcome,
      error ?? '',
    ]);
  }

  async latest(schedule: string): Promise<number | undefined> {
    const reply = await latestScript.run(this.service.commands, this.keys(schedule), []);
    return Buffer.isBuffer(reply) ? Number(reply.toString('latin1')) : undefined;
  }

  /** Closes the store's own connection (not a shared service); idempotent. */
  async close(): Promise<void> {
    if (this.ownsService) await this.service.close();
  }

  private keys(schedule: string): string[] {
    const slot = `${this.prefix}:{${schedule}}`;
    return [`${slot}:states`, `${slot}:ticks`];
  }
}
