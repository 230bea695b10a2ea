import { LuaScript } from './stream-scripts.js';

/**
 * Lua: `take(key; wanted, period, burst, ahead)`, the generic cell rate algorithm on the
 * server's clock (`TIME`, in ms). The key holds the theoretical arrival time (TAT): the k-th
 * permit from now is due at `max(TAT, now) + k × period − burst × period`; permits due by
 * `now + ahead` are granted, up to `wanted`, and the TAT moves on by `granted × period`. The
 * key expires once the TAT is past (an idle limit is the same as no key). Returns
 * `{ granted, retryAfter }`, `retryAfter` (ms, ≥ 1) when fewer than wanted were granted, else 0.
 */
export const takeScript = new LuaScript(
  'rateLimitTake',
  `
local wanted = tonumber(ARGV[1])
local period = tonumber(ARGV[2])
local burst = tonumber(ARGV[3])
local ahead = tonumber(ARGV[4])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + tonumber(time[2]) / 1000
local tat = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
if tat < now then tat = now end
local room = math.floor((now + ahead - tat) / period + burst + 1e-9) + 1
if room < 0 then room = 0 end
local granted = math.min(wanted, room)
if granted > 0 then
  tat = tat + granted * period
  redis.call('SET', KEYS[1], string.format('%.3f', tat), 'PX', math.ceil(tat - now) + 1)
end
local retryAfter = 0
if granted < wanted then
  retryAfter = math.max(1, math.ceil(tat - burst * period - ahead - now))
end
return { granted, retryAfter }
`,
);
