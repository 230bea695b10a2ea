import { expect } from 'chai';
import { TimeoutError as RxTimeoutError } from 'rxjs';
import {
  AttemptTimeoutError,
  describeError,
  ErgonError,
  NonRetryableError,
  TransactionError,
} from '../../lib/index.js';

describe('TransactionError', () => {
  describe('constructor', () => {
    it('defaults to category system, no transaction, no stage, retryable', () => {
      const error = new TransactionError('boom');
      expect(error.category).to.equal('system');
      expect(error.transactionId).to.equal(undefined);
      expect(error.stage).to.equal(undefined);
      expect(error.nonRetryable).to.equal(false);
      expect(error.message).to.equal('boom');
    });

    it('is an ErgonError named TransactionError carrying its options', () => {
      const cause = new Error('root');
      const error = new TransactionError('bad order', {
        category: 'business',
        transactionId: 't-1',
        stage: 'process',
        cause,
        nonRetryable: true,
      });
      expect(error).to.be.instanceOf(ErgonError).and.instanceOf(Error);
      expect(error.name).to.equal('TransactionError');
      expect(error).to.include({
        category: 'business',
        transactionId: 't-1',
        stage: 'process',
        nonRetryable: true,
      });
      expect(error.cause).to.equal(cause);
    });
  });

  describe('wrap', () => {
    it('passes a TransactionError through as the same instance, category kept (reference case 24)', () => {
      const business = new TransactionError('customer unknown', { category: 'business' });
      expect(TransactionError.wrap(business, { transactionId: 't', stage: 'process' })).to.equal(
        business,
      );
      expect(business.category).to.equal('business');
    });

    it('wraps a generic error as category system, keeping it as cause (reference case 22)', () => {
      const cause = new TypeError('x is undefined');
      const error = TransactionError.wrap(cause, { transactionId: 't-7', stage: 'success' });
      expect(error).to.be.instanceOf(TransactionError);
      expect(error.category).to.equal('system');
      expect(error.cause).to.equal(cause);
      expect(error.transactionId).to.equal('t-7');
      expect(error.stage).to.equal('success');
      expect(error.nonRetryable).to.equal(false);
    });

    it('the message names the stage, the transaction and the original error', () => {
      const error = TransactionError.wrap(new RangeError('too big'), {
        transactionId: 't-7',
        stage: 'process',
      });
      expect(error.message).to.contain('process');
      expect(error.message).to.contain('t-7');
      expect(error.message).to.contain('RangeError');
      expect(error.message).to.contain('too big');
    });

    it('wraps without context too', () => {
      const error = TransactionError.wrap(new Error('plain'));
      expect(error.message).to.contain('plain');
      expect(error.transactionId).to.equal(undefined);
      expect(error.stage).to.equal(undefined);
    });

    describe('timeouts become category timeout (reference case 23)', () => {
      class TimeoutError extends Error {
        override name = 'TimeoutError';
      }
      const timeouts: [string, unknown][] = [
        ['an error named TimeoutError', new TimeoutError('slow')],
        // eslint-disable-next-line @typescript-eslint/no-deprecated -- the spec needs the very error RxJS's timeout operator throws
        ["RxJS's TimeoutError (the timeout operator)", new RxTimeoutError()],
        ['AttemptTimeoutError', new AttemptTimeoutError(200)],
        [
          'a DOMException TimeoutError (AbortSignal.timeout)',
          new DOMException('t', 'TimeoutError'),
        ],
      ];
      for (const [what, cause] of timeouts) {
        it(what, () => {
          const error = TransactionError.wrap(cause, { stage: 'process' });
          expect(error.category).to.equal('timeout');
          expect(error.cause).to.equal(cause);
        });
      }

      it('but an AbortError or a message mentioning a timeout is system', () => {
        expect(TransactionError.wrap(new DOMException('a', 'AbortError')).category).to.equal(
          'system',
        );
        expect(TransactionError.wrap(new Error('TimeoutError')).category).to.equal('system');
      });
    });

    it('marks a wrapped NonRetryableError (and subclasses) as non-retryable', () => {
      class DeadChannelError extends NonRetryableError {}
      expect(TransactionError.wrap(new NonRetryableError('stop')).nonRetryable).to.equal(true);
      expect(TransactionError.wrap(new DeadChannelError('gone')).nonRetryable).to.equal(true);
    });

    describe('an empty message still says what was thrown (reference case 25)', () => {
      it('new Error("") mentions Error and is not just the stage', () => {
        const error = TransactionError.wrap(new Error(''), { stage: 'process' });
        expect(error.message).to.match(/Error/);
        expect(error.message.replace(/process/g, '').trim()).to.not.equal('failed:');
      });

      it('a subclass with an empty message mentions its class name', () => {
        // A subclass that does not set `name` still has `name === 'Error'`: the class name
        // (like Python's repr) is what identifies it.
        class EmptyStrError extends Error {}
        const error = TransactionError.wrap(new EmptyStrError(''), { stage: 'process' });
        expect(error.message).to.contain('EmptyStrError');
      });

      it('a subclass that sets its name is named in the message', () => {
        class QuotaError extends Error {
          override name = 'QuotaError';
        }
        expect(TransactionError.wrap(new QuotaError('')).message).to.contain('QuotaError');
      });
    });

    it('wraps thrown non-errors readably', () => {
      expect(TransactionError.wrap('plain string').message).to.contain('plain string');
      expect(TransactionError.wrap({ code: 17 }).message).to.contain('17');
      expect(TransactionError.wrap(undefined).message).to.contain('undefined');
      expect(TransactionError.wrap(null).message).to.contain('null');
      expect(TransactionError.wrap(42).cause).to.equal(42);
    });
  });
});

describe('describeError', () => {
  it('renders Type: message', () => {
    expect(describeError(new TypeError('bad'))).to.equal('TypeError: bad');
  });

  it('never returns an empty string', () => {
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    const values: unknown[] = [new Error(''), '', undefined, null, 0, circular, Symbol('s')];
    for (const value of values) expect(describeError(value)).to.not.equal('');
  });

  it('survives a circular thrown object', () => {
    const circular: Record<string, unknown> = { a: 1 };
    circular.self = circular;
    expect(() => describeError(circular)).to.not.throw();
  });
});
