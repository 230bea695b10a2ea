import fc from 'fast-check';

const encoder = new TextEncoder();

/** Bodies as they come off a wire: random bytes, binary text, cut JSON, JSON. */
export const wireBody: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.uint8Array({ maxLength: 256 }),
  fc.string({ unit: 'binary', maxLength: 128 }).map((s) => encoder.encode(s)),
  fc
    .jsonValue({ maxDepth: 3 })
    .chain((value) =>
      fc.nat({ max: 8 }).map((cut) => JSON.stringify(value).slice(0, Math.max(0, cut * 5))),
    )
    .map((s) => encoder.encode(s)),
  fc.jsonValue({ maxDepth: 3 }).map((value) => encoder.encode(JSON.stringify(value))),
);

/** What `jsonCodec` should make of `bytes`: the JSON value, or `{ ok: false }`. */
export function expectedDecode(bytes: Uint8Array): { ok: true; value: unknown } | { ok: false } {
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return { ok: false };
  }
}
