import { SpanStatusCode, type Attributes, type SpanStatus } from '@opentelemetry/api';
import type { ReadableSpan, SpanProcessor } from '@opentelemetry/sdk-trace-node';
import { maskCredentials } from '../core/mask-credentials.js';

/**
 * Masks credentials (`maskCredentials`) in what a failed span says about its error before any
 * exporter sees it: the attributes of its events (`exception.message`,
 * `exception.stacktrace` of `recordException`), its status message and, on a span with
 * status ERROR, its string attributes. A driver error that prints a connection URL with its
 * password so reaches no collector. Runs first among the provider's processors; spans
 * without events or error status are not touched (nothing to pay on the happy path).
 *
 * @example
 * ```ts
 * new NodeTracerProvider({ spanProcessors: [new CredentialMaskingSpanProcessor(), new BatchSpanProcessor(exporter)] });
 * ```
 */
export class CredentialMaskingSpanProcessor implements SpanProcessor {
  onStart(): void {}

  onEnd(span: ReadableSpan): void {
    for (const event of span.events) {
      if (event.attributes !== undefined) maskAttributes(event.attributes);
    }
    if (span.status.code !== SpanStatusCode.ERROR) return;
    maskAttributes(span.attributes);
    if (span.status.message !== undefined) {
      const status: SpanStatus = { ...span.status, message: maskCredentials(span.status.message) };
      (span as { status: SpanStatus }).status = status;
    }
  }

  forceFlush(): Promise<void> {
    return Promise.resolve();
  }

  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

function maskAttributes(attributes: Attributes): void {
  const writable = attributes as Record<string, unknown>;
  for (const [key, value] of Object.entries(attributes)) {
    if (typeof value === 'string') {
      const masked = maskCredentials(value);
      if (masked !== value) writable[key] = masked;
    }
  }
}
