import type { AdaptiveRun, OutageRun } from '../contenders/flow-control.js';
import type * as flowContenders from '../contenders/flow-control.js';
import { contendersOf, type ContenderRef } from './contender-ref.js';
import { formatCount, formatLatency, formatRate, formatRatio } from './number-format.js';
import {
  extraOf,
  measureRepeatedly,
  type ContenderSummary,
  type Summaries,
} from './repeated-measurement.js';
import { scaled, type Scenario, type TargetCheck } from './scenario.js';
import type { Spread } from './statistics.js';

const flow = contendersOf<typeof flowContenders>('contenders/flow-control.js');

/** `median (min–max)` of a counter, as whole numbers, or just the number when they agree. */
function formatCounts(spread: Spread, format = formatCount): string {
  return spread.min === spread.max
    ? format(spread.median)
    : `${format(spread.median)} (${format(spread.min)}–${format(spread.max)})`;
}

const seconds1 = (value: number): string => `${value.toFixed(1)} s`;

const fixedLimits = [10, 40, 80] as const;
const adaptiveKinds = ['aimd', 'gradient'] as const;
const label = (concurrency: number | string): string =>
  typeof concurrency === 'number'
    ? `fixed concurrency ${concurrency}`
    : `adaptive \`${concurrency}\` (from 5, 1–200)`;
/** Issue #19's targets. */
const adaptiveShare = 0.9;
const p99Factor = 2;
const rampLimit = 30;

/** Scenario 12: adaptive concurrency against a downstream that saturates, in real time. */
export const adaptiveConcurrency: Scenario = {
  id: 'adaptive',
  title: 'Adaptive concurrency: a downstream that saturates',
  description: (options) =>
    `${scaled(6000, options).toLocaleString('en-US')} transactions from a \`MemoryConnector\` in continuous mode (\`process.retry = { maxAttempts: 10, backoff: 5 }\`, doubling; silent logger), each one call of an in-process simulated downstream (\`bench/contenders/flow-control.ts\`, real timers): up to 40 calls in flight take 10 ms, beyond 40 a call takes 10 ms × in-flight / 40 (a queue), and beyond 60 in flight a call fails at once with a 503. Fixed concurrencies against \`loop.concurrency: { value: 5, adaptive, min: 1, max: 200 }\`. Latency is fetch-to-settle; "unloaded p99" is fixed concurrency 10's (well below saturation: every call takes the no-load 10 ms). The ramp column is the end of the first 100 ms bucket whose successes reached 90 % of the steady rate (the median 100 ms bucket of the second half of the run, up to where 95 % of it was done, so the tail of late retries does not count).`,
  run: async (options) => {
    const count = scaled(6000, options);
    const contenders: Record<string, ContenderRef> = {};
    for (const concurrency of [...fixedLimits, ...adaptiveKinds]) {
      const run: AdaptiveRun = { count, concurrency, bucketMs: 100 };
      contenders[label(concurrency)] = flow('ergonAdaptive', run);
    }
    const summaries = await measureRepeatedly(contenders, options.repeats, 120_000);
    const bestFixed = Math.max(
      ...fixedLimits.map((limit) => summaries.get(label(limit)).throughput.median),
    );
    const unloadedP99 = summaries.get(label(10)).p99 ?? Number.NaN;
    const rows = [...summaries.entries()].map(([name, summary]) => [
      name,
      formatRate(summary.throughput),
      formatLatency(summary.p50),
      formatLatency(summary.p99),
      formatCounts(extraOf(summary, 'refused')),
      formatRatio(summary.throughput.median / bestFixed),
      formatCounts(extraOf(summary, 'steadyRate')),
      formatCounts(extraOf(summary, 'rampSeconds'), seconds1),
    ]);
    const targets: TargetCheck[] = [];
    const aimd = summaries.get(label('aimd'));
    const share = aimd.throughput.median / bestFixed;
    targets.push({
      target: `adaptive (aimd) ≥ ${adaptiveShare}× the best fixed concurrency's throughput (saturating downstream, real time)`,
      measured: formatRatio(share),
      met: share >= adaptiveShare,
    });
    for (const kind of adaptiveKinds) {
      const p99 = summaries.get(label(kind)).p99 ?? Number.NaN;
      targets.push({
        target: `adaptive (${kind}) p99 < ${p99Factor}× the unloaded p99 (fixed 10: ${formatLatency(unloadedP99)})`,
        measured: `${formatLatency(p99)} (${formatRatio(p99 / unloadedP99)})`,
        met: p99 < p99Factor * unloadedP99,
      });
    }
    for (const kind of adaptiveKinds) {
      const ramp = extraOf(summaries.get(label(kind)), 'rampSeconds');
      targets.push({
        target: `adaptive (${kind}) reaches 90 % of its steady throughput within ${rampLimit} s`,
        measured: formatCounts(ramp, seconds1),
        met: ramp.max <= rampLimit,
      });
    }
    return {
      tables: [
        {
          headers: [
            'concurrency',
            'tx/s median (min–max)',
            'p50',
            'p99',
            '503s',
            '× best fixed',
            'steady tx/s',
            '90 % of steady at',
          ],
          align: ['left', 'right', 'right', 'right', 'right', 'right', 'right', 'right'],
          rows,
        },
      ],
      targets,
    };
  },
};

const outage = { downAt: 2000, downFor: 10_000, openFor: 2000, probe: 10 };
/** Slack for timers on a loaded machine, on top of `openFor` and one probe's latency. */
const recoverySlack = 500;
const withBreaker = 'circuit breaker (ratio 0.5, minCalls 20, window 5 s, openFor 2 s)';
const withoutBreaker = 'no breaker (control)';

function deadLetterCells(summary: ContenderSummary): string[] {
  const opened = extraOf(summary, 'opened');
  const openMs = extraOf(summary, 'openMs');
  const recovery = extraOf(summary, 'recoveryMs');
  return [
    formatCounts(extraOf(summary, 'deadLettered')),
    opened.max === 0 ? '—' : formatCounts(extraOf(summary, 'notSucceededOnceOpen')),
    opened.max === 0 ? '—' : formatCounts(openMs, (ms) => seconds1(ms / 1000)),
    formatCounts(opened),
    recovery.max < 0 ? '— (finished during the outage)' : formatCounts(recovery),
    formatRate(summary.throughput),
  ];
}

/** Scenario 13: a downstream that is down for 10 s, with and without the circuit breaker. */
export const downstreamOutage: Scenario = {
  id: 'outage',
  title: 'Circuit breaker: a downstream outage',
  description: (options) =>
    `${scaled(8000, options).toLocaleString('en-US')} transactions from a \`MemoryConnector\` in continuous mode at concurrency 20, each one call of the simulated downstream (10 ms per call at this load), with \`process.retry = { maxAttempts: 3, backoff: 5 }\` (doubling). ${outage.downAt / 1000} s after the start the downstream goes down for ${outage.downFor / 1000} s: every call fails after 5 ms with a 503. With \`loop.circuitBreaker: { failureRatio: 0.5, minCalls: 20, window: '5s', openFor: '2s' }\` and without (the control). "Dead letters once open" counts the transactions dead-lettered after the breaker first opened; "recovery" is the time from the downstream coming back to the first success after it. The breaker's window is a ratio over the last 5 s of attempts, so right after the outage begins it still holds the ~2,000 successes a second of the healthy downstream: it opens only when the failed attempts reach half of the window, and a transaction whose three attempts (about 30 ms) fail before then is dead-lettered.`,
  run: async (options) => {
    const base: OutageRun = {
      count: scaled(8000, options),
      concurrency: 20,
      downAt: outage.downAt,
      downFor: outage.downFor,
      breaker: true,
      maxAttempts: 3,
      backoff: 5,
    };
    const summaries: Summaries = await measureRepeatedly(
      {
        [withBreaker]: flow('ergonOutage', base),
        [withoutBreaker]: flow('ergonOutage', { ...base, breaker: false }),
      },
      options.repeats,
      120_000,
    );
    const breaker = summaries.get(withBreaker);
    const deadLetters = extraOf(breaker, 'deadLettered');
    const recovery = extraOf(breaker, 'recoveryMs');
    const recoveryBound = outage.openFor + outage.probe + recoverySlack;
    return {
      tables: [
        {
          headers: [
            'run',
            'dead letters',
            'dead letters once open',
            'breaker opened after',
            'times opened',
            'recovery ms',
            'tx/s median (min–max)',
          ],
          align: ['left', 'right', 'right', 'right', 'right', 'right', 'right'],
          rows: [...summaries.entries()].map(([name, summary]) => [
            name,
            ...deadLetterCells(summary),
          ]),
        },
      ],
      targets: [
        {
          target: `downstream down for ${outage.downFor / 1000} s, circuit breaker and maxAttempts 3: 0 dead letters`,
          measured: `${formatCounts(deadLetters)} (control: ${formatCounts(extraOf(summaries.get(withoutBreaker), 'deadLettered'))})`,
          met: deadLetters.max === 0,
        },
        {
          target: `first success within openFor + one probe + ${recoverySlack} ms slack (${recoveryBound} ms) of the downstream coming back`,
          measured: `${formatCounts(recovery)} ms`,
          met: recovery.min >= 0 && recovery.max <= recoveryBound,
        },
      ],
    };
  },
};
