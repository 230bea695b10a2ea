/** Bodies the JSON codec cannot decode: truncated JSON, invalid UTF-8, empty, plain text, binary. */
export const UNDECODABLE_BODIES: readonly Buffer[] = Object.freeze([
  Buffer.from('{"n": 1, "truncated'),
  Buffer.from([0xff, 0xfe, 0xfd, 0x7b, 0x7d]),
  Buffer.alloc(0),
  Buffer.from('not json at all'),
  Buffer.from([0x00, 0x01, 0x02, 0x80, 0x9f]),
]);
