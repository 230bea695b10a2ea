import { bytesFields, hexField, numberField, stringField } from './protobuf-fields.js';

/** What the specs check of one exported span (field numbers from opentelemetry/proto/trace/v1). */
export interface ExportedSpan {
  readonly name: string;
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId: string;
}

/** What the specs check of one exported log record (opentelemetry/proto/logs/v1). */
export interface ExportedLogRecord {
  readonly body: string;
  readonly severityNumber: number;
  readonly severityText: string;
  readonly traceId: string;
  readonly spanId: string;
  readonly attributes: Readonly<Record<string, string>>;
}

/** The string attributes of a resource or record (`KeyValue` list at `field`). */
function stringAttributes(message: Uint8Array, field: number): Record<string, string> {
  const attributes: Record<string, string> = {};
  for (const keyValue of bytesFields(message, field)) {
    const key = stringField(keyValue, 1);
    const [value] = bytesFields(keyValue, 2);
    const text = value === undefined ? undefined : stringField(value, 1);
    if (key !== undefined && text !== undefined) attributes[key] = text;
  }
  return attributes;
}

/** The spans of an `ExportTraceServiceRequest`. */
export function spansIn(request: Uint8Array): ExportedSpan[] {
  return bytesFields(request, 1)
    .flatMap((resourceSpans) => bytesFields(resourceSpans, 2))
    .flatMap((scopeSpans) => bytesFields(scopeSpans, 2))
    .map((span) => ({
      name: stringField(span, 5) ?? '',
      traceId: hexField(span, 1) ?? '',
      spanId: hexField(span, 2) ?? '',
      parentSpanId: hexField(span, 4) ?? '',
    }));
}

/** The string resource attributes of each `ResourceSpans`/`ResourceLogs`/`ResourceMetrics`. */
export function resourceAttributesIn(request: Uint8Array): Record<string, string>[] {
  return bytesFields(request, 1).map((resourceItem) => {
    const [resource] = bytesFields(resourceItem, 1);
    return resource === undefined ? {} : stringAttributes(resource, 1);
  });
}

/** The log records of an `ExportLogsServiceRequest`. */
export function logRecordsIn(request: Uint8Array): ExportedLogRecord[] {
  return bytesFields(request, 1)
    .flatMap((resourceLogs) => bytesFields(resourceLogs, 2))
    .flatMap((scopeLogs) => bytesFields(scopeLogs, 2))
    .map((record) => {
      const [body] = bytesFields(record, 5);
      return {
        body: body === undefined ? '' : (stringField(body, 1) ?? ''),
        severityNumber: numberField(record, 2) ?? 0,
        severityText: stringField(record, 3) ?? '',
        traceId: hexField(record, 9) ?? '',
        spanId: hexField(record, 10) ?? '',
        attributes: stringAttributes(record, 6),
      };
    });
}

/** The metric names of an `ExportMetricsServiceRequest`. */
export function metricNamesIn(request: Uint8Array): string[] {
  return bytesFields(request, 1)
    .flatMap((resourceMetrics) => bytesFields(resourceMetrics, 2))
    .flatMap((scopeMetrics) => bytesFields(scopeMetrics, 2))
    .map((metric) => stringField(metric, 1) ?? '');
}
