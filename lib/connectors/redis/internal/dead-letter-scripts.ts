import { redriveOfKey } from '../../../core/dead-letters.js';
import { deliveriesField } from './stream-entry.js';
import { deadLetterFields, LuaScript } from './stream-scripts.js';

/**
 * Sends dead-letter entries back to the source stream: for each entry id still in the
 * dead-letter stream, `XADD`s its original fields (without the dead-letter fields and the
 * earlier deliveries, so the count starts afresh; with `ergon-redrive-of` =
 * `<dead stream>#<entry id>`) to the stream, then `XDEL`s it from the
 * dead-letter stream — atomically, so two redrives never send one entry twice: the second
 * finds it gone.
 *
 * KEYS: stream, dead-letter stream. ARGV: dead entry id…
 * Returns the dead entry ids it redrove.
 */
export const redriveScript = new LuaScript(
  'redrive',
  `
local stream, dead = KEYS[1], KEYS[2]
local skip = { ['${redriveOfKey}'] = true, ['${deliveriesField}'] = true }
for _, name in ipairs({ ${deadLetterFields.map((name) => `'${name}'`).join(', ')} }) do
  skip[name] = true
end
local done = {}
for i = 1, #ARGV do
  local entry = redis.call('XRANGE', dead, ARGV[i], ARGV[i])[1]
  if entry then
    local args = { stream, '*' }
    local fields = entry[2]
    for j = 1, #fields, 2 do
      if not skip[fields[j]] then
        args[#args + 1] = fields[j]
        args[#args + 1] = fields[j + 1]
      end
    end
    args[#args + 1] = '${redriveOfKey}'
    args[#args + 1] = dead .. '#' .. ARGV[i]
    redis.call('XADD', unpack(args))
    redis.call('XDEL', dead, ARGV[i])
    done[#done + 1] = ARGV[i]
  end
end
return done
`,
);

/**
 * Deletes dead-letter entries. KEYS: dead-letter stream. ARGV: entry id….
 * Returns the entry ids it deleted (the others were gone already).
 */
export const purgeScript = new LuaScript(
  'purge',
  `
local done = {}
for i = 1, #ARGV do
  if redis.call('XDEL', KEYS[1], ARGV[i]) == 1 then done[#done + 1] = ARGV[i] end
end
return done
`,
);
