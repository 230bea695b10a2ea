import { createContextKey, ROOT_CONTEXT } from '@opentelemetry/api';
import { expect } from 'chai';
import { ChainedContext } from '../../../lib/engine/internal/instrumentation/run-telemetry.js';

const task = createContextKey('spec.task');
const span = createContextKey('spec.span');
const user = createContextKey('spec.user');

describe('ChainedContext (the contexts the engine derives per transaction)', () => {
  const outer = ROOT_CONTEXT.setValue(user, 'from the caller');
  const run = new ChainedContext(outer, task, 'charge');

  it('reads its own value, then each ancestor’s, then the context it was chained on', () => {
    const attempt = run.setValue(span, 'attempt');
    expect(attempt.getValue(span)).to.equal('attempt');
    expect(attempt.getValue(task)).to.equal('charge');
    expect(attempt.getValue(user)).to.equal('from the caller');
    expect(attempt.getValue(createContextKey('spec.absent'))).to.equal(undefined);
  });

  it('derives without changing the context it derives from; the nearest value wins', () => {
    const first = run.setValue(span, 'first');
    const second = first.setValue(span, 'second');
    expect(second.getValue(span)).to.equal('second');
    expect(first.getValue(span)).to.equal('first');
    expect(run.getValue(span)).to.equal(undefined);
  });

  it('deleteValue hides a value set above it, also one of the context it was chained on', () => {
    const attempt = run.setValue(span, 'attempt');
    expect(attempt.deleteValue(span).getValue(span)).to.equal(undefined);
    expect(attempt.deleteValue(user).getValue(user)).to.equal(undefined);
    expect(attempt.getValue(span)).to.equal('attempt');
    expect(attempt.deleteValue(span).setValue(span, 'again').getValue(span)).to.equal('again');
  });
});
