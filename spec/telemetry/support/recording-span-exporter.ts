import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-node';

/**
 * A span exporter for specs that, unlike `InMemorySpanExporter`, keeps what it received after
 * `shutdown`, so a spec can check that shutting down flushed the batch processor.
 */
export class RecordingSpanExporter implements SpanExporter {
  readonly spans: ReadableSpan[] = [];
  shutdownCalls = 0;

  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    this.spans.push(...spans);
    resultCallback({ code: ExportResultCode.SUCCESS });
  }

  async shutdown(): Promise<void> {
    this.shutdownCalls++;
  }
}
