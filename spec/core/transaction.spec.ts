import { expect } from 'chai';
import {
  createTransaction,
  ErgonError,
  InvalidTransactionError,
  type Transaction,
} from '../../lib/index.js';

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** Assigns through the readonly types, as untyped JavaScript callers could. */
function assign(target: object, key: string, value: unknown): void {
  (target as Record<string, unknown>)[key] = value;
}

describe('createTransaction', () => {
  describe('identity (reference case 1)', () => {
    it('generates a random UUID v4 id when none is given', () => {
      const a = createTransaction('a');
      const b = createTransaction('b', {});
      const c = createTransaction('c', { id: undefined });
      for (const tx of [a, b, c]) expect(tx.id).to.match(uuid);
      expect(new Set([a.id, b.id, c.id]).size).to.equal(3);
    });

    it('keeps a given id and the payload itself (not a copy)', () => {
      const payload = { order: 42 };
      const tx = createTransaction(payload, { id: 'order-42' });
      expect(tx.id).to.equal('order-42');
      expect(tx.payload).to.equal(payload);
    });

    it('accepts any payload, undefined and null included', () => {
      expect(createTransaction(undefined).payload).to.equal(undefined);
      expect(createTransaction(null).payload).to.equal(null);
      expect(createTransaction(0).payload).to.equal(0);
    });

    it('rejects a non-string id with InvalidTransactionError naming the value', () => {
      const bad: unknown[] = [42, null, true, {}, ['x'], Symbol('id')];
      for (const id of bad) {
        expect(() => createTransaction('p', { id: id as string }), typeof id)
          .to.throw(InvalidTransactionError)
          .with.property('message')
          .that.matches(/id/);
      }
      expect(() => createTransaction('p', { id: 42 as unknown as string })).to.throw(/42/);
    });

    it('rejects an empty id', () => {
      expect(() => createTransaction('p', { id: '' })).to.throw(InvalidTransactionError);
    });

    it('names an id that has neither a JSON nor a string form instead of throwing a TypeError', () => {
      const id = Object.assign(Object.create(null) as object, { n: 1n });
      expect(() => createTransaction('p', { id: id as unknown as string }))
        .to.throw(InvalidTransactionError)
        .with.property('message')
        .that.includes('[object Object]');
    });

    it('InvalidTransactionError is an ErgonError with its own name', () => {
      let caught: unknown;
      try {
        createTransaction('p', { id: '' });
      } catch (error) {
        caught = error;
      }
      expect(caught).to.be.instanceOf(ErgonError);
      expect(caught).to.be.instanceOf(Error);
      expect((caught as Error).name).to.equal('InvalidTransactionError');
    });
  });

  describe('metadata (reference case 1)', () => {
    it('defaults to an empty object', () => {
      expect(createTransaction('p').metadata).to.deep.equal({});
      expect(createTransaction('p', { id: 'x' }).metadata).to.deep.equal({});
    });

    it('is a frozen copy: later changes to the given object do not leak in', () => {
      const given: Record<string, unknown> = { source: 'orders', line: 3 };
      const tx = createTransaction('p', { metadata: given });
      given.line = 4;
      given.extra = true;
      expect(tx.metadata).to.deep.equal({ source: 'orders', line: 3 });
      expect(tx.metadata).to.not.equal(given);
      expect(Object.isFrozen(tx.metadata)).to.equal(true);
    });

    it('a default metadata object cannot be changed through one transaction for another', () => {
      const a = createTransaction('a');
      const b = createTransaction('b');
      expect(() => assign(a.metadata, 'leak', 1)).to.throw(TypeError);
      expect(b.metadata).to.deep.equal({});
    });

    it('rejects metadata that is not a plain object', () => {
      const bad: unknown[] = [null, 'text', 3, ['a']];
      for (const metadata of bad) {
        expect(
          () => createTransaction('p', { metadata: metadata as Record<string, unknown> }),
          JSON.stringify(metadata),
        ).to.throw(InvalidTransactionError, /metadata/);
      }
    });
  });

  describe('immutability (reference case 2)', () => {
    let tx: Transaction<{ n: number }>;
    beforeEach(() => {
      tx = createTransaction({ n: 1 }, { id: 't-1', metadata: { k: 'v' } });
    });

    it('is frozen', () => {
      expect(Object.isFrozen(tx)).to.equal(true);
    });

    for (const key of ['id', 'payload', 'metadata']) {
      it(`reassigning ${key} throws and changes nothing`, () => {
        const before = { ...tx };
        expect(() => assign(tx, key, 'other')).to.throw(TypeError);
        expect({ ...tx }).to.deep.equal(before);
      });
    }

    it('adding a property or a metadata key throws', () => {
      expect(() => assign(tx, 'extra', 1)).to.throw(TypeError);
      expect(() => assign(tx.metadata, 'k2', 1)).to.throw(TypeError);
      expect(tx.metadata).to.deep.equal({ k: 'v' });
    });

    it('immutability is shallow: the payload belongs to the caller', () => {
      tx.payload.n = 2;
      expect(tx.payload.n).to.equal(2);
    });
  });
});
