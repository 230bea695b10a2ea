import { expect } from 'chai';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { PrometheusExporter, PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { lastValueFrom, Subject, toArray } from 'rxjs';
import {
  consume,
  consumerTask,
  MemoryConnector,
  RateLimitedError,
  type Transaction,
} from '../../lib/index.js';
import { defineTask, ExitCode, runTask } from '../../lib/runner/index.js';

const stack = fileURLToPath(new URL('../../assets/observability/', import.meta.url));

interface GrafanaPanel {
  readonly title: string;
  readonly datasource: { readonly uid: string };
  readonly targets: readonly { readonly expr: string }[];
}

/** The metric names a PromQL expression reads (ergon-rx's: consumer_…, runner_…). */
function metricNames(expr: string): string[] {
  return expr.match(/\b(?:consumer|producer|dispatch|runner)_[a-z0-9_]+\b/g) ?? [];
}

/**
 * The Prometheus exposition of a real run: a streaming consumer whose breaker opens and closes
 * (the first four transactions fail once) and is rate limited once, collected while it runs, under runTask (so the runner's
 * watchdog metrics are there too).
 */
async function exposition(): Promise<string> {
  const reader = new PrometheusExporter({ preventServerStart: true });
  let text = '';
  const connector = new MemoryConnector<{ n: number }>({
    source: Array.from({ length: 60 }, (_, n) => ({ n })),
  });
  const refused = new Set<number>();
  const task = consumerTask({
    process: (tx: Transaction<{ n: number }>) => {
      if (tx.payload.n < 4 && !refused.has(tx.payload.n)) {
        refused.add(tx.payload.n);
        throw new Error('downstream refused');
      }
      if (tx.payload.n === 30 && !refused.has(30)) {
        refused.add(30);
        throw new RateLimitedError(5);
      }
      return tx.payload.n;
    },
  });
  const code = await runTask(
    defineTask({
      name: 'grafana-metrics',
      connectors: { orders: () => connector },
      telemetry: { metrics: { readers: [reader] }, logs: { sinks: [] } },
      logLevel: 'silent',
      run: async ({ connectors }) => {
        const stop$ = new Subject<void>();
        const outcomes = lastValueFrom(
          consume(
            connectors.orders,
            task,
            {
              loop: {
                mode: 'continuous',
                streaming: true,
                concurrency: { value: 2 },
                circuitBreaker: { minCalls: 2, openFor: 20 },
              },
              fetch: { empty: { backoff: 5, backoffCap: 10 } },
              process: { retry: { maxAttempts: 3, backoff: 1 } },
            },
            { stop$ },
          ).pipe(toArray()),
        );
        // Until everything was processed and the queue was found empty a few times.
        for (let i = 0; i < 200 && connector.counts.ack < 60; i++) {
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
        const { resourceMetrics } = await reader.collect();
        text = new PrometheusSerializer().serialize(resourceMetrics);
        stop$.next();
        await outcomes;
      },
    }),
    { signals: false },
  );
  expect(code).to.equal(ExitCode.success);
  return text;
}

describe('the Grafana dashboard and the observability stack (assets/observability)', function () {
  this.timeout(30_000);

  it('is valid dashboard JSON on the provisioned Prometheus data source, and every file the compose mounts exists', async () => {
    const dashboard = JSON.parse(
      await readFile(`${stack}grafana/dashboards/ergon-rx.json`, 'utf8'),
    ) as { uid: string; panels: GrafanaPanel[] };
    expect(dashboard.uid).to.equal('ergon-rx');
    expect(dashboard.panels.length).to.be.greaterThan(10);
    const datasources = await readFile(
      `${stack}grafana/provisioning/datasources/ergon-rx.yaml`,
      'utf8',
    );
    for (const panel of dashboard.panels) {
      expect(panel.targets.length, panel.title).to.be.greaterThan(0);
      expect(datasources).to.include(`uid: ${panel.datasource.uid}`);
    }
    const compose = await readFile(`${stack}docker-compose.yml`, 'utf8');
    for (const [, mounted] of compose.matchAll(/- \.\/([^:]+):/g)) {
      expect(existsSync(`${stack}${mounted}`), mounted).to.equal(true);
    }
  });

  it('reads only metrics a real run emits: each PromQL expression names series the Prometheus reader serves', async () => {
    const dashboard = JSON.parse(
      await readFile(`${stack}grafana/dashboards/ergon-rx.json`, 'utf8'),
    ) as { panels: GrafanaPanel[] };
    const served = new Set(
      (await exposition())
        .split('\n')
        .filter((line) => line !== '' && !line.startsWith('#'))
        .map((line) => line.split(/[{ ]/)[0]),
    );
    const missing: string[] = [];
    let checked = 0;
    for (const panel of dashboard.panels) {
      for (const target of panel.targets) {
        const names = metricNames(target.expr);
        expect(names, target.expr).to.not.be.empty;
        for (const name of names) {
          checked++;
          if (!served.has(name)) missing.push(`${panel.title}: ${name}`);
        }
      }
    }
    expect(missing).to.deep.equal([]);
    expect(checked).to.be.greaterThan(15);
  });
});
