import { context, metrics, propagation, trace } from '@opentelemetry/api';
import { logs } from '@opentelemetry/api-logs';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  CompositePropagator,
  W3CBaggagePropagator,
  W3CTraceContextPropagator,
} from '@opentelemetry/core';
import type { LoggerProvider } from '@opentelemetry/sdk-logs';
import type { MeterProvider } from '@opentelemetry/sdk-metrics';
import type { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import {
  setAttemptSpans,
  type AttemptSpans,
} from '../engine/internal/instrumentation/run-telemetry.js';
import { TelemetrySetupError } from './telemetry-errors.js';

/** The providers to make global; an absent one is left alone. */
export interface GlobalProviders {
  readonly tracerProvider?: NodeTracerProvider | undefined;
  readonly meterProvider?: MeterProvider | undefined;
  /** The engine's attempt-span rule while the tracer provider is installed (`traces.attemptSpans`). */
  readonly attemptSpans?: AttemptSpans;
}

/**
 * What one `setupTelemetry` installed in the OpenTelemetry API's globals, so it can take out
 * exactly that and nothing an application registered itself.
 *
 * `install` does what `NodeTracerProvider.register()` does (tracer provider,
 * `AsyncLocalStorageContextManager`, W3C trace-context and baggage propagators) and also sets
 * the meter provider. The context manager and propagator are installed even with tracing off,
 * so log records still see the transaction id the engine puts in the context; if the
 * application already has its own, those stay. With a tracer provider it also sets the
 * engine's attempt-span rule (`attemptSpans`), put back as it was on `release`. A tracer or meter provider that is already
 * registered is an error (nothing is left installed).
 *
 * @example
 * ```ts
 * const globals = GlobalRegistration.install({ tracerProvider, meterProvider });
 * globals.addLoggerProvider(loggerProvider);
 * globals.release(); // trace, metrics, logs, context and propagation as they were
 * ```
 */
export class GlobalRegistration {
  private ownsLoggerProvider = false;

  private constructor(
    /** The attempt-span rule to put back on `release` (`null`: this registration set none). */
    private readonly previousAttemptSpans: AttemptSpans | null,
    private readonly ownsTracerProvider: boolean,
    private readonly ownsMeterProvider: boolean,
    private readonly ownsContextManager: boolean,
    private readonly ownsPropagator: boolean,
  ) {}

  /** @throws TelemetrySetupError when a tracer or meter provider is already registered. */
  static install(providers: GlobalProviders): GlobalRegistration {
    const { tracerProvider, meterProvider } = providers;
    const ownsTracerProvider =
      tracerProvider !== undefined && trace.setGlobalTracerProvider(tracerProvider);
    if (tracerProvider !== undefined && !ownsTracerProvider) {
      throw new TelemetrySetupError(alreadyRegistered('tracer provider'));
    }
    const ownsMeterProvider =
      meterProvider !== undefined && metrics.setGlobalMeterProvider(meterProvider);
    if (meterProvider !== undefined && !ownsMeterProvider) {
      if (ownsTracerProvider) trace.disable();
      throw new TelemetrySetupError(alreadyRegistered('meter provider'));
    }
    const contextManager = new AsyncLocalStorageContextManager().enable();
    const ownsContextManager = context.setGlobalContextManager(contextManager);
    if (!ownsContextManager) contextManager.disable();
    const ownsPropagator = propagation.setGlobalPropagator(
      new CompositePropagator({
        propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()],
      }),
    );
    const previousAttemptSpans =
      ownsTracerProvider && providers.attemptSpans !== undefined
        ? setAttemptSpans(providers.attemptSpans)
        : null;
    return new GlobalRegistration(
      previousAttemptSpans,
      ownsTracerProvider,
      ownsMeterProvider,
      ownsContextManager,
      ownsPropagator,
    );
  }

  /** Makes `provider` the global logger provider unless the application has one already. */
  addLoggerProvider(provider: LoggerProvider): void {
    this.ownsLoggerProvider = logs.setGlobalLoggerProvider(provider) === provider;
  }

  /** Takes out everything this registration installed. */
  release(): void {
    if (this.ownsTracerProvider) trace.disable();
    if (this.previousAttemptSpans !== null) setAttemptSpans(this.previousAttemptSpans);
    if (this.ownsMeterProvider) metrics.disable();
    if (this.ownsLoggerProvider) logs.disable();
    if (this.ownsContextManager) context.disable();
    if (this.ownsPropagator) propagation.disable();
  }
}

function alreadyRegistered(what: string): string {
  return (
    `an OpenTelemetry ${what} is already registered: shut down the previous telemetry handle ` +
    'first, or leave the SDK setup to setupTelemetry'
  );
}
