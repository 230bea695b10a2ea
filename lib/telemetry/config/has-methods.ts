/**
 * A guard for ready-made objects given in place of a configuration item (an exporter, a
 * reader, a log sink): an object with these methods and no own `type` key (which would make
 * it a declarative item).
 *
 * @example
 * ```ts
 * const isSpanExporter = hasMethods<SpanExporter>('export', 'shutdown');
 * isSpanExporter(new InMemorySpanExporter()); // true
 * isSpanExporter({ type: 'otlp' }); // false
 * ```
 */
export function hasMethods<I>(...names: readonly string[]): (u: unknown) => u is I {
  return (u: unknown): u is I =>
    typeof u === 'object' &&
    u !== null &&
    !Object.hasOwn(u, 'type') &&
    names.every((name) => typeof (u as Record<string, unknown>)[name] === 'function');
}
