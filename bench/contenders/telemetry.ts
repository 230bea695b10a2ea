/**
 * The telemetry setups the engine is measured under, installed globally in the process that
 * runs the contender (so each setup needs a fresh process):
 * - `api-only`: nothing registered; the engine detects it and does no span, context or clock work;
 * - `context-manager`: an AsyncLocalStorage context manager only (logs carry transaction ids);
 * - `tracing`: a tracer provider with a `BatchSpanProcessor` to an exporter that drops everything;
 *   the processor has its defaults (queue of 2048, export batches of 512), as `setupTelemetry`
 *   builds it;
 * - `tracing 1 %`: the same provider sampling 1 % of the traces (parent-based, trace id ratio),
 *   as a high-throughput deployment would;
 * - `tracing+metrics`: plus a meter provider with a periodic reader, given an
 *   `EngineMetricProducer` as `setupTelemetry` gives every reader it builds, pushing every
 *   60 s as `setupTelemetry`'s readers do by default (a run here is shorter than that: the
 *   setup measures what metrics cost per transaction, not a collection);
 * - `tracing+metrics, attempt spans onFailure`: the same with `setAttemptSpans('onFailure')`
 *   (`traces.attemptSpans`): a first attempt that succeeds gets no span.
 */
import { context, metrics, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  W3CTraceContextPropagator,
  type ExportResult,
  ExportResultCode,
} from '@opentelemetry/core';
import {
  AggregationTemporality,
  MeterProvider,
  PeriodicExportingMetricReader,
  type PushMetricExporter,
} from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  type ReadableSpan,
  type SpanExporter,
} from '@opentelemetry/sdk-trace-base';
import { EngineMetricProducer, setAttemptSpans } from 'ergon-rx/telemetry';
import { ergonConsume, type ErgonRun } from './engine.js';
import type { RunResult } from './run-result.js';

export const telemetrySetups = [
  'api-only',
  'context-manager',
  'tracing',
  'tracing 1 %',
  'tracing+metrics',
  'tracing+metrics, attempt spans onFailure',
] as const;
export type TelemetrySetup = (typeof telemetrySetups)[number];

class DroppingSpanExporter implements SpanExporter {
  exported = 0;
  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    this.exported += spans.length;
    done({ code: ExportResultCode.SUCCESS });
  }
  async shutdown(): Promise<void> {}
}

const droppingMetricExporter: PushMetricExporter = {
  export: (_metrics, done) => done({ code: ExportResultCode.SUCCESS }),
  forceFlush: async () => {},
  shutdown: async () => {},
  selectAggregationTemporality: () => AggregationTemporality.CUMULATIVE,
};

/** What an installed setup lets the caller read back and flush. */
export interface InstalledTelemetry {
  /** Spans the exporter received so far. */
  readonly spans: () => number;
  /** Exports what the span processor still holds. */
  readonly flush: () => Promise<void>;
}

let installed: { readonly setup: TelemetrySetup; readonly telemetry: InstalledTelemetry } | null =
  null;

/**
 * Registers `setup` globally, before the engine runs; the OpenTelemetry API takes one
 * registration per process, so a second call returns the first setup (a different one throws).
 */
export function installTelemetry(setup: TelemetrySetup): InstalledTelemetry {
  if (installed !== null) {
    if (installed.setup !== setup)
      throw new Error(`telemetry is already set up as ${installed.setup}`);
    return installed.telemetry;
  }
  installed = { setup, telemetry: register(setup) };
  return installed.telemetry;
}

function register(setup: TelemetrySetup): InstalledTelemetry {
  const none: InstalledTelemetry = { spans: () => 0, flush: async () => {} };
  if (setup === 'api-only') return none;
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  if (setup === 'context-manager') return none;
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  const exporter = new DroppingSpanExporter();
  const provider = new BasicTracerProvider({
    ...(setup === 'tracing 1 %'
      ? { sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(0.01) }) }
      : {}),
    spanProcessors: [new BatchSpanProcessor(exporter)],
  });
  trace.setGlobalTracerProvider(provider);
  if (setup === 'tracing+metrics, attempt spans onFailure') setAttemptSpans('onFailure');
  if (setup === 'tracing+metrics' || setup === 'tracing+metrics, attempt spans onFailure') {
    metrics.setGlobalMeterProvider(
      new MeterProvider({
        readers: [
          new PeriodicExportingMetricReader({
            exporter: droppingMetricExporter,
            exportIntervalMillis: 60_000,
            metricProducers: [new EngineMetricProducer()],
          }),
        ],
      }),
    );
  }
  return { spans: () => exporter.exported, flush: () => provider.forceFlush() };
}

/** {@link ergonConsume} under a telemetry setup (installed by the first call in the process). */
export async function tracedConsume(
  run: ErgonRun & { readonly setup: TelemetrySetup },
): Promise<RunResult> {
  const telemetry = installTelemetry(run.setup);
  const result = await ergonConsume(run);
  await telemetry.flush();
  return { ...result, extra: { spans: telemetry.spans() } };
}
