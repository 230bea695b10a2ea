import { expect } from 'chai';
import {
  createTransaction,
  settleDecisionFor,
  TransactionError,
  type Outcome,
  type ReleaseReason,
} from '../../lib/index.js';

describe('settleDecisionFor', () => {
  const transaction = createTransaction('p', { id: 't-1' });
  const error = new TransactionError('failed', { transactionId: 't-1', stage: 'process' });
  const handlerError = new TransactionError('handler failed', { stage: 'exception' });
  const timeoutError = new TransactionError('late', { category: 'timeout' });

  it('acks a success', () => {
    expect(settleDecisionFor({ status: 'success', transaction, result: 1 })).to.deep.equal({
      type: 'ack',
    });
  });

  it('acks a handled exception', () => {
    const outcome: Outcome = { status: 'exception', transaction, error, handled: 'logged' };
    expect(settleDecisionFor(outcome)).to.deep.equal({ type: 'ack' });
  });

  it('dead-letters a failure without handler, with the lifecycle error', () => {
    expect(settleDecisionFor({ status: 'failed', transaction, error })).to.deep.equal({
      type: 'deadLetter',
      error,
    });
  });

  it("dead-letters a failure whose handler failed, with the handler's error", () => {
    const decision = settleDecisionFor({ status: 'failed', transaction, error, handlerError });
    expect(decision).to.deep.equal({ type: 'deadLetter', error: handlerError });
  });

  it('acks a handled timeout and dead-letters an unhandled one', () => {
    expect(
      settleDecisionFor({ status: 'timeout', transaction, error: timeoutError, handled: true }),
    ).to.deep.equal({ type: 'ack' });
    expect(
      settleDecisionFor({ status: 'timeout', transaction, error: timeoutError, handled: false }),
    ).to.deep.equal({ type: 'deadLetter', error: timeoutError });
    expect(
      settleDecisionFor({
        status: 'timeout',
        transaction,
        error: timeoutError,
        handled: false,
        handlerError,
      }),
    ).to.deep.equal({ type: 'deadLetter', error: handlerError });
  });

  it('releases cancelled work with its reason', () => {
    const reasons: ReleaseReason[] = ['shutdown', 'unsubscribe', 'loopTimeout', 'overLimit'];
    for (const reason of reasons) {
      expect(settleDecisionFor({ status: 'released', transaction, reason })).to.deep.equal({
        type: 'release',
        reason,
      });
    }
  });

  it('returns decisions that cannot be altered by a connector', () => {
    const ack = settleDecisionFor({ status: 'success', transaction, result: 1 });
    const release = settleDecisionFor({ status: 'released', transaction, reason: 'shutdown' });
    expect(Object.isFrozen(ack)).to.equal(true);
    expect(Object.isFrozen(release)).to.equal(true);
  });
});
