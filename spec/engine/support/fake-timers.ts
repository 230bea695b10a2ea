import sinon from 'sinon';

/** The fake clock of the spec that runs (see {@link fakeTimersEachSpec}). */
export interface FakeTimers {
  readonly clock: sinon.SinonFakeTimers;
}

/**
 * Registers hooks (call it inside `describe`) that fake `setTimeout`, `setInterval`, their
 * clears and `Date` before each spec, and restore them after it.
 */
export function fakeTimersEachSpec(): FakeTimers {
  let clock: sinon.SinonFakeTimers | undefined;
  beforeEach(() => {
    clock = sinon.useFakeTimers({
      toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'],
    });
  });
  afterEach(() => clock?.restore());
  return {
    get clock() {
      if (clock === undefined) throw new Error('fakeTimersEachSpec: no spec is running');
      return clock;
    },
  };
}
