import type { Attributes } from '@opentelemetry/api';
import { DataPointType, MetricReader, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { outcomeStatuses, type OutcomeStatus } from '../core/outcome.js';

/** A circuit breaker's state, as `consumer.circuit_breaker.transitions` names it. */
export type BreakerState = 'closed' | 'open' | 'halfOpen';

/**
 * A metric reader that only answers when asked: the dashboard collects from it once a second.
 * Added to the readers of the task's meter provider, so it sees exactly what the Prometheus or
 * OTLP readers see (cumulative totals).
 */
export class DashboardMetricReader extends MetricReader {
  protected onShutdown(): Promise<void> {
    return Promise.resolve();
  }

  protected onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
}

/** Cumulative bucket counts of a histogram, summed over its series. */
interface BucketCounts {
  /** Upper bounds in seconds, ascending; the last bucket (one more count) has none. */
  readonly boundaries: readonly number[];
  readonly counts: readonly number[];
}

/** What the dashboard reads from one collection, summed over tasks and connectors. */
export interface MetricsReading {
  /** Transactions ended since the start, by status (consumer and producer). */
  readonly ended: ReadonlyMap<OutcomeStatus, number>;
  /** `*.transactions.duration`, consumer and producer together. */
  readonly durations: BucketCounts | null;
  readonly inFlight: number | null;
  readonly limit: number | null;
  /** `consumer.circuit_breaker.transitions` by the state entered. */
  readonly breakerTransitions: ReadonlyMap<BreakerState, number>;
  /** `consumer.rate_limit.pauses` (`null`: not known, in a pool's primary). */
  readonly rateLimitPauses: number | null;
}

const breakerStates: readonly string[] = ['closed', 'open', 'halfOpen'];

function sumPoints(points: readonly { readonly value: unknown }[]): number {
  let total = 0;
  for (const point of points) if (typeof point.value === 'number') total += point.value;
  return total;
}

function addBy<K>(into: Map<K, number>, key: K, value: number): void {
  into.set(key, (into.get(key) ?? 0) + value);
}

function text(attributes: Attributes, key: string): string | undefined {
  const value = attributes[key];
  return typeof value === 'string' ? value : undefined;
}

/** Sums a collection's data points into what the dashboard charts. */
export function readMetrics(collected: ResourceMetrics): MetricsReading {
  const ended = new Map<OutcomeStatus, number>();
  const breakerTransitions = new Map<BreakerState, number>();
  let durations: { boundaries: number[]; counts: number[] } | null = null;
  let inFlight: number | null = null;
  let limit: number | null = null;
  let rateLimitPauses = 0;
  for (const scope of collected.scopeMetrics) {
    for (const metric of scope.metrics) {
      const name = metric.descriptor.name;
      if (name === 'consumer.transactions.total' || name === 'producer.transactions.total') {
        for (const point of metric.dataPoints) {
          const status = text(point.attributes, 'status');
          const known = outcomeStatuses.find((candidate) => candidate === status);
          if (known !== undefined && typeof point.value === 'number')
            addBy(ended, known, point.value);
        }
      } else if (
        (name === 'consumer.transactions.duration' || name === 'producer.transactions.duration') &&
        metric.dataPointType === DataPointType.HISTOGRAM
      ) {
        for (const point of metric.dataPoints) {
          const { boundaries, counts } = point.value.buckets;
          durations ??= { boundaries: [...boundaries], counts: counts.map(() => 0) };
          const into = durations;
          if (into.boundaries.length !== boundaries.length) continue;
          counts.forEach((count, i) => {
            into.counts[i] = (into.counts[i] ?? 0) + count;
          });
        }
      } else if (
        name === 'consumer.transactions.in_flight' ||
        name === 'producer.transactions.in_flight'
      ) {
        inFlight = (inFlight ?? 0) + sumPoints(metric.dataPoints);
      } else if (name === 'consumer.concurrency.limit') {
        if (metric.dataPoints.length > 0) limit = (limit ?? 0) + sumPoints(metric.dataPoints);
      } else if (name === 'consumer.circuit_breaker.transitions') {
        for (const point of metric.dataPoints) {
          const state = text(point.attributes, 'state');
          if (
            state !== undefined &&
            breakerStates.includes(state) &&
            typeof point.value === 'number'
          )
            addBy(breakerTransitions, state as BreakerState, point.value);
        }
      } else if (name === 'consumer.rate_limit.pauses') {
        rateLimitPauses += sumPoints(metric.dataPoints);
      }
    }
  }
  return { ended, durations, inFlight, limit, breakerTransitions, rateLimitPauses };
}

/**
 * The `q` quantile (0…1) of a histogram's counts in milliseconds, interpolated linearly
 * inside its bucket as Prometheus's `histogram_quantile` does (the overflow bucket answers
 * its lower bound); `null` when the counts are all zero.
 */
export function bucketQuantile(
  boundaries: readonly number[],
  counts: readonly number[],
  q: number,
): number | null {
  const total = counts.reduce((sum, count) => sum + count, 0);
  if (total <= 0) return null;
  const rank = q * total;
  let below = 0;
  for (let i = 0; i < counts.length; i++) {
    const count = counts[i] ?? 0;
    if (count > 0 && below + count >= rank) {
      const lower = i === 0 ? 0 : (boundaries[i - 1] ?? 0);
      const upper = boundaries[i];
      if (upper === undefined) return lower * 1000;
      return (lower + ((upper - lower) * (rank - below)) / count) * 1000;
    }
    below += count;
  }
  return (boundaries[boundaries.length - 1] ?? 0) * 1000;
}
