import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { isNoScript } from '../errors.js';
import { deliveriesField } from './stream-entry.js';

/** An argument of a Redis command: text, a number or raw bytes. */
type RedisArgument = string | number | Buffer;

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

/**
 * The fields a dead letter adds to the original entry's fields (replacing any of the same
 * name).
 *
 * @example
 * ```ts
 * const [entry] = await redis.xrange('orders:dead', '-', '+', 'COUNT', 1); // … 'error', 'reason', …
 * ```
 */
export const deadLetterFields = [
  'error',
  'reason',
  'errorCategory',
  'errorStage',
  'deliveries',
  'sourceStream',
  'sourceGroup',
  'sourceEntryId',
] as const;

/**
 * Lua: `priorDeliveries(fields)` is what a retry-later recorded in the field
 * `ergon-deliveries` (the deliveries of the entries it came back from; 0 when absent), so
 * `maxDeliveries` and the dead letters count across the delayed set.
 *
 * `deadLetterEntry(stream, dead, group, id, fields, error, reason, category, stage, deliveries)`
 * copies the entry's fields plus the dead-letter fields to the dead-letter stream, with the
 * prior deliveries added to `deliveries` (and their field left out, so a redrive starts
 * counting afresh). `deadLetter(…, deleteOnAck)` does the same for an entry of the group, then
 * acks (and optionally deletes) it, all within the calling script (atomically).
 */
const deadLetterFunction = `
local deadFieldNames = { ['${deliveriesField}'] = true }
for _, name in ipairs({ ${deadLetterFields.map((name) => `'${name}'`).join(', ')} }) do
  deadFieldNames[name] = true
end
local function priorDeliveries(fields)
  for i = 1, #fields, 2 do
    if fields[i] == '${deliveriesField}' then return tonumber(fields[i + 1]) or 0 end
  end
  return 0
end
local function deadLetterEntry(stream, dead, group, id, fields, err, reason, category, stage, deliveries)
  local args = { dead, '*' }
  for i = 1, #fields, 2 do
    if not deadFieldNames[fields[i]] then
      args[#args + 1] = fields[i]
      args[#args + 1] = fields[i + 1]
    end
  end
  local total = tostring((tonumber(deliveries) or 0) + priorDeliveries(fields))
  local extra = { 'error', err, 'reason', reason, 'errorCategory', category, 'errorStage', stage,
    'deliveries', total, 'sourceStream', stream, 'sourceGroup', group, 'sourceEntryId', id }
  for i = 1, #extra, 2 do
    if extra[i + 1] ~= '' then
      args[#args + 1] = extra[i]
      args[#args + 1] = extra[i + 1]
    end
  end
  redis.call('XADD', unpack(args))
end
local function deadLetter(stream, dead, group, id, fields, err, reason, category, stage, deliveries, deleteOnAck)
  deadLetterEntry(stream, dead, group, id, fields, err, reason, category, stage, deliveries)
  redis.call('XACK', stream, group, id)
  if deleteOnAck then redis.call('XDEL', stream, id) end
end
`;

/**
 * Claims entries idle for at least `minIdle` ms (from dead consumers, or released) with
 * `XAUTOCLAIM`, looks up each one's delivery count, and dead-letters those delivered more than
 * `maxDeliveries` times (counting the deliveries before a retry-later, `ergon-deliveries`)
 * instead of returning them. The deliveries returned are the entry's own.
 *
 * KEYS: stream, dead-letter stream. ARGV: group, consumer, minIdle, cursor, count,
 * maxDeliveries, deleteOnAck (`1`/`0`).
 * Returns `{ nextCursor, { { id, fields, deliveries }, … }, deadLettered }`.
 */
export const claimScript = new LuaScript(
  'claim',
  `${deadLetterFunction}
local stream, dead = KEYS[1], KEYS[2]
local group, consumer = ARGV[1], ARGV[2]
local maxDeliveries = tonumber(ARGV[6])
local deleteOnAck = ARGV[7] == '1'
local claimed = redis.call('XAUTOCLAIM', stream, group, consumer, ARGV[3], ARGV[4], 'COUNT', ARGV[5])
local entries = {}
local deadLettered = 0
for _, entry in ipairs(claimed[2]) do
  local id, fields = entry[1], entry[2]
  local pending = redis.call('XPENDING', stream, group, id, id, 1)[1]
  local deliveries = pending and pending[4] or 1
  local total = fields and deliveries + priorDeliveries(fields) or deliveries
  if not fields then
    redis.call('XACK', stream, group, id)
  elseif total > maxDeliveries then
    deadLetter(stream, dead, group, id, fields,
      'delivered ' .. total .. ' times, more than maxDeliveries (' .. maxDeliveries .. ')',
      'maxDeliveries', '', '', deliveries, deleteOnAck)
    deadLettered = deadLettered + 1
  else
    entries[#entries + 1] = { id, fields, deliveries }
  end
end
return { claimed[1], entries, deadLettered }
`,
);

/**
 * Lua: `heldEntry(stream, group, consumer, id)` looks up an entry this consumer fetched and
 * returns `fields, pending, lost`: its fields (`nil` when the entry is no longer in the stream:
 * trimmed or deleted while pending), its `XPENDING` record (`nil` when not pending), and
 * whether it is no longer this consumer's (another consumer claimed it, it was settled
 * elsewhere while it still exists, or the group is gone).
 */
const heldEntryFunction = `
local function heldEntry(stream, group, consumer, id)
  local entry = redis.call('XRANGE', stream, id, id)[1]
  local fields = entry and entry[2] or nil
  local reply = redis.pcall('XPENDING', stream, group, id, id, 1)
  if reply.err then return fields, nil, true end
  local pending = reply[1]
  local lost = (pending and pending[2] ~= consumer) or (fields ~= nil and not pending)
  return fields, pending, lost
end
`;

/** What {@link deadLetterScript} and {@link releaseScript} did with an entry. */
export const heldEntryOutcome = {
  /** Dead-lettered (or released) as asked. */
  done: 1,
  /** No longer this consumer's: another consumer claimed it, or it was settled elsewhere. */
  lost: 0,
  /**
   * Deleted from the stream while pending (`XTRIM`, `MAXLEN`, `XDEL`): written to the
   * dead-letter stream from the fields the connector held.
   */
  trimmed: 2,
} as const;

/**
 * Dead-letters one entry this consumer holds: copies its fields and the error to the
 * dead-letter stream, then acks it. The entry must still be this consumer's: when another
 * consumer claimed it meanwhile (this one stalled past `claimIdle`) or it was settled elsewhere,
 * nothing happens (the other consumer's claim stands). When the entry was deleted from the
 * stream while pending, the fields the connector held (ARGV from 9 on) are written instead.
 *
 * KEYS: stream, dead-letter stream. ARGV: group, consumer, id, error, category, stage,
 * deleteOnAck, deliveries, held field…
 * Returns a {@link heldEntryOutcome}.
 */
export const deadLetterScript = new LuaScript(
  'deadLetter',
  `${deadLetterFunction}${heldEntryFunction}
local stream, dead = KEYS[1], KEYS[2]
local group, consumer, id = ARGV[1], ARGV[2], ARGV[3]
local fields, pending, lost = heldEntry(stream, group, consumer, id)
if lost then return ${heldEntryOutcome.lost} end
local held = fields == nil
if held then fields = { unpack(ARGV, 9) } end
deadLetter(stream, dead, group, id, fields, ARGV[4], 'failed', ARGV[5], ARGV[6],
  pending and pending[4] or ARGV[8], ARGV[7] == '1')
if held then return ${heldEntryOutcome.trimmed} end
return ${heldEntryOutcome.done}
`,
);

/**
 * Releases one entry this consumer holds: sets its idle time to `idle` so the next
 * `XAUTOCLAIM` (of any consumer) redelivers it. An entry another consumer claimed meanwhile is
 * left alone. An entry deleted from the stream while pending cannot be delivered again (a claim
 * drops it): the fields the connector held (ARGV from 7 on) go to the dead-letter stream with
 * reason `trimmed`, and the entry is acked.
 *
 * KEYS: stream, dead-letter stream. ARGV: group, consumer, id, idle, deliveries, error,
 * held field…
 * Returns a {@link heldEntryOutcome}.
 */
export const releaseScript = new LuaScript(
  'release',
  `${deadLetterFunction}${heldEntryFunction}
local stream, dead = KEYS[1], KEYS[2]
local group, consumer, id = ARGV[1], ARGV[2], ARGV[3]
local fields, pending, lost = heldEntry(stream, group, consumer, id)
if lost then return ${heldEntryOutcome.lost} end
if fields then
  redis.call('XCLAIM', stream, group, consumer, 0, id, 'IDLE', ARGV[4], 'JUSTID')
  return ${heldEntryOutcome.done}
end
deadLetter(stream, dead, group, id, { unpack(ARGV, 7) }, ARGV[6], 'trimmed', '', '',
  pending and pending[4] or ARGV[5], false)
return ${heldEntryOutcome.trimmed}
`,
);

/**
 * Sets the idle time of the given entries that this consumer still owns (others may have
 * claimed them meanwhile): `0` renews the lease of entries in flight, `claimIdle` releases
 * entries so the next `XAUTOCLAIM` (of any consumer) redelivers them at once. The delivery
 * count is not changed (`JUSTID`).
 *
 * KEYS: stream. ARGV: group, consumer, idle, id…
 * Returns how many entries it stamped.
 */
export const stampIdleScript = new LuaScript(
  'stampIdle',
  `
local stream, group, consumer = KEYS[1], ARGV[1], ARGV[2]
local args = { stream, group, consumer, 0 }
for i = 4, #ARGV do
  local pending = redis.pcall('XPENDING', stream, group, ARGV[i], ARGV[i], 1)
  if not pending.err and pending[1] and pending[1][2] == consumer then
    args[#args + 1] = ARGV[i]
  end
end
if #args == 4 then return 0 end
local stamped = #args - 4
args[#args + 1] = 'IDLE'
args[#args + 1] = ARGV[3]
args[#args + 1] = 'JUSTID'
redis.call('XCLAIM', unpack(args))
return stamped
`,
);

/**
 * Releases every entry pending for this consumer except the ones listed (those in flight
 * here), by setting their idle time to `idle` so any consumer's next `XAUTOCLAIM` takes them.
 * Runs after a reconnect (entries delivered on a dropped connection never arrived) and on
 * close; on close (`forget` = `1`) it also deletes the consumer from the group when nothing
 * was pending for it.
 *
 * KEYS: stream. ARGV: group, consumer, idle, forget (`1`/`0`), id to keep…
 * Returns how many entries it released.
 */
export const releasePendingScript = new LuaScript(
  'releasePending',
  `
local stream, group, consumer, idle = KEYS[1], ARGV[1], ARGV[2], ARGV[3]
local keep = {}
for i = 5, #ARGV do keep[ARGV[i]] = true end
local released, kept = 0, 0
local start = '-'
while true do
  local page = redis.pcall('XPENDING', stream, group, start, '+', 100, consumer)
  if page.err then return 0 end
  local args = { stream, group, consumer, 0 }
  for _, pending in ipairs(page) do
    if keep[pending[1]] then kept = kept + 1 else args[#args + 1] = pending[1] end
  end
  if #args > 4 then
    released = released + #args - 4
    args[#args + 1] = 'IDLE'
    args[#args + 1] = idle
    args[#args + 1] = 'JUSTID'
    redis.call('XCLAIM', unpack(args))
  end
  if #page < 100 then break end
  start = '(' .. page[#page][1]
end
if ARGV[4] == '1' and released == 0 and kept == 0 then
  redis.pcall('XGROUP', 'DELCONSUMER', stream, group, consumer)
end
return released
`,
);

/**
 * Lua: `serverMs()` is the server's clock in milliseconds, so every consumer and producer
 * holds delays to the same clock.
 */
const serverClockFunction = `
local function serverMs()
  local time = redis.call('TIME')
  return tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
end
`;

/**
 * Holds one entry this consumer holds back for `delay` ms (a retry-later): its fields, with
 * the deliveries so far in `ergon-deliveries`, go to the delayed sorted set (score: when it is
 * due, on the server's clock), and the entry is acked (and deleted with `deleteOnAck`), all
 * at once. An entry another consumer claimed meanwhile is left alone; one deleted from the
 * stream while pending is held back from the fields the connector held.
 *
 * KEYS: stream, delayed set. ARGV: group, consumer, id, delay, deliveries, deleteOnAck,
 * held field…
 * Returns a {@link heldEntryOutcome}.
 */
export const delayScript = new LuaScript(
  'delay',
  `${heldEntryFunction}${serverClockFunction}
local stream, delayed = KEYS[1], KEYS[2]
local group, consumer, id = ARGV[1], ARGV[2], ARGV[3]
local fields, pending, lost = heldEntry(stream, group, consumer, id)
if lost then return ${heldEntryOutcome.lost} end
local held = fields == nil
if held then fields = { unpack(ARGV, 7) } end
local deliveries = pending and pending[4] or tonumber(ARGV[5])
local kept = { id }
for i = 1, #fields, 2 do
  if fields[i] == '${deliveriesField}' then
    deliveries = deliveries + (tonumber(fields[i + 1]) or 0)
  else
    kept[#kept + 1] = fields[i]
    kept[#kept + 1] = fields[i + 1]
  end
end
kept[#kept + 1] = '${deliveriesField}'
kept[#kept + 1] = tostring(deliveries)
redis.call('ZADD', delayed, serverMs() + tonumber(ARGV[4]), cmsgpack.pack(kept))
if pending then redis.call('XACK', stream, group, id) end
if ARGV[6] == '1' then redis.call('XDEL', stream, id) end
if held then return ${heldEntryOutcome.trimmed} end
return ${heldEntryOutcome.done}
`,
);

/**
 * Schedules one entry for later (a dispatch with a future `notBefore`): its fields go to the
 * delayed sorted set with score `due` (milliseconds since the epoch). The same transaction
 * scheduled twice for the same time is stored once.
 *
 * KEYS: delayed set. ARGV: due, transaction id, field…
 * Returns 1 when added, 0 when it was there already.
 */
export const scheduleScript = new LuaScript(
  'schedule',
  `
return redis.call('ZADD', KEYS[1], ARGV[1], cmsgpack.pack({ unpack(ARGV, 2) }))
`,
);

/**
 * Moves up to `limit` due entries from the delayed set back into the stream (a new entry
 * each, with the fields it was held with), in due order, atomically: an entry is in the set
 * or in the stream, never both, never neither. An entry already delivered `maxDeliveries`
 * times (its `ergon-deliveries`) goes to the dead-letter stream instead (reason
 * `maxDeliveries`): its next delivery would be one too many.
 *
 * KEYS: stream, delayed set, dead-letter stream. ARGV: limit, maxDeliveries.
 * Returns `{ moved, msUntilNext }` (`msUntilNext` is -1 when nothing else waits).
 */
export const promoteScript = new LuaScript(
  'promote',
  `${deadLetterFunction}${serverClockFunction}
local stream, delayed, dead = KEYS[1], KEYS[2], KEYS[3]
local maxDeliveries = tonumber(ARGV[2])
local now = serverMs()
local due = redis.call('ZRANGEBYSCORE', delayed, '-inf', now, 'LIMIT', 0, tonumber(ARGV[1]))
for _, member in ipairs(due) do
  local held = cmsgpack.unpack(member)
  local fields = { unpack(held, 2) }
  local prior = priorDeliveries(fields)
  if prior >= maxDeliveries then
    deadLetterEntry(stream, dead, '', held[1], fields,
      'delivered ' .. prior .. ' times and retried later, but maxDeliveries is ' .. maxDeliveries,
      'maxDeliveries', '', '', 0)
  else
    redis.call('XADD', stream, '*', unpack(fields))
  end
  redis.call('ZREM', delayed, member)
end
local next = redis.call('ZRANGE', delayed, 0, 0, 'WITHSCORES')
local wait = -1
if next[2] then wait = math.max(0, tonumber(next[2]) - now) end
return { #due, wait }
`,
);
