import type { Context } from '@opentelemetry/api';

/**
 * A context holding one value on top of a parent context. `@opentelemetry/api`'s own context
 * copies its whole map, and makes three closures, on every `setValue`; the engine derives
 * contexts several times per transaction (its span, its id, each attempt's span), so it starts
 * each run from a chained context instead: deriving one is a single small object, and reading
 * a key walks the few links up to the context the run started in. Contexts derived from it
 * (by the engine, the tracing SDK or a handler) are chained the same way.
 */
export class ChainedContext implements Context {
  constructor(
    private readonly parent: Context,
    private readonly key: symbol,
    private readonly value: unknown,
  ) {}

  getValue(key: symbol): unknown {
    if (this.key === key) return this.value;
    let current = this.parent;
    while (current instanceof ChainedContext) {
      if (current.key === key) return current.value;
      current = current.parent;
    }
    return current.getValue(key);
  }

  setValue(key: symbol, value: unknown): Context {
    return new ChainedContext(this, key, value);
  }

  /** A child in which `key` reads as absent, as it does once deleted from a context's map. */
  deleteValue(key: symbol): Context {
    return new ChainedContext(this, key, undefined);
  }
}
