import { expect } from 'chai';
import { consume, consumerTask, MemoryConnector, type Transaction } from '../../lib/index.js';
import { defineTask, ExitCode, runTask } from '../../lib/runner/index.js';
import {
  childrenOf,
  installOtel,
  isError,
  parentId,
  single,
  spanId,
  type InstalledOtel,
} from '../engine/telemetry/support/otel.js';

describe('runTask spans (every step of the task is a span)', () => {
  let otel: InstalledOtel;

  beforeEach(() => {
    otel = installOtel();
  });

  afterEach(async () => {
    await otel.release();
  });

  it('traces the task, its resources, the run (with the engine under it) and the closes', async () => {
    const connector = new MemoryConnector<number>({ source: [1, 2] });
    const task = defineTask({
      name: 'traced',
      connectors: { numbers: () => connector },
      services: { cache: () => ({ close: () => undefined }) },
      run: ({ connectors }) =>
        consume(
          connectors.numbers,
          consumerTask({ name: 'traced', process: (tx: Transaction<number>) => tx.payload }),
        ),
      exit: () => undefined,
    });
    expect(await runTask(task, { signals: false })).to.equal(ExitCode.success);

    const spans = otel.spans();
    const root = single(spans, 'task traced');
    expect(parentId(root)).to.equal(undefined);
    expect(childrenOf(spans, root).map((span) => span.name)).to.deep.equal([
      'create connector numbers',
      'create service cache',
      'run',
      'exit hook',
      'close service cache',
      'close connector numbers',
    ]);
    const run = single(spans, 'run');
    expect(parentId(single(spans, 'consume traced'))).to.equal(spanId(run));
    expect(spans.some(isError)).to.equal(false);
  });

  it('marks a failing step failed', async () => {
    const task = defineTask({
      name: 'broken',
      connectors: {
        numbers: () => {
          throw new Error('no broker');
        },
      },
      run: () => Promise.resolve(),
    });
    expect(await runTask(task, { signals: false })).to.equal(ExitCode.runError);
    const spans = otel.spans();
    expect(isError(single(spans, 'create connector numbers'))).to.equal(true);
  });
});
