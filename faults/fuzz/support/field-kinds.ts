import fc from 'fast-check';
import { MAX_TIMER_DELAY } from '../../../lib/index.js';

/** The kinds of value the policy and task-config decoders check (see docs/policies.md). */
export type FieldKind =
  | 'positiveInteger'
  | 'positiveIntegerOrNull'
  | 'nonNegativeInteger'
  | 'nonNegativeIntegerOrNull'
  | 'duration'
  | 'durationOrNull'
  | 'positiveDuration'
  | 'positiveDurationOrNull'
  | 'boolean'
  | 'loopMode'
  | 'jitter'
  | 'multiplier'
  | 'nameOrNull'
  | 'nonEmptyName'
  | 'tcpPort'
  | 'function';

const nullWords = fc.constantFrom(null, '', 'none', 'null', ' NULL ');

const positiveInteger = fc.oneof(
  fc.integer({ min: 1, max: 10_000 }),
  fc.integer({ min: 1, max: 10_000 }).map(String),
  fc.integer({ min: 1, max: 100 }).map((n) => `${n}.0`),
);
const nonNegativeInteger = fc.oneof(
  fc.integer({ min: 0, max: 10_000 }),
  fc.integer({ min: 0, max: 10_000 }).map(String),
);
const positiveMs = fc.integer({ min: 1, max: MAX_TIMER_DELAY });
const duration = fc.oneof(
  fc.integer({ min: 0, max: MAX_TIMER_DELAY }),
  fc.double({ min: 0, max: 1e6, noNaN: true }),
  fc.integer({ min: 0, max: 100_000 }).map((n) => `${n}`),
  fc.integer({ min: 0, max: 100_000 }).map((n) => `${n}ms`),
  fc.integer({ min: 0, max: 1000 }).map((n) => ` ${n} S `),
  fc.integer({ min: 0, max: 99 }).map((n) => `${n}.5s`),
  fc.integer({ min: 0, max: 500 }).map((n) => `${n}m`),
);
const positiveDuration = fc.oneof(
  positiveMs,
  fc.integer({ min: 1, max: 100_000 }).map((n) => `${n}ms`),
  fc.integer({ min: 1, max: 500 }).map((n) => `${n}s`),
  fc.integer({ min: 1, max: 500 }).map((n) => `${n}h`),
);
const booleanWords = fc.constantFrom(
  true,
  false,
  'true',
  'false',
  '1',
  '0',
  'yes',
  'no',
  ' ON ',
  'off',
);

/** Values each kind accepts. */
export const validValue: Record<FieldKind, fc.Arbitrary<unknown>> = {
  positiveInteger,
  positiveIntegerOrNull: fc.oneof(positiveInteger, nullWords),
  nonNegativeInteger,
  nonNegativeIntegerOrNull: fc.oneof(nonNegativeInteger, nullWords),
  duration,
  durationOrNull: fc.oneof(duration, nullWords),
  positiveDuration,
  positiveDurationOrNull: fc.oneof(positiveDuration, nullWords),
  boolean: booleanWords,
  loopMode: fc.constantFrom('batch', 'continuous', ' Continuous ', 'BATCH', null, '', 'none'),
  jitter: fc.constantFrom('none', 'full', 'equal', ' FULL ', true, false, 'yes', null, ''),
  multiplier: fc.oneof(
    fc.double({ min: 1, max: 1000, noNaN: true }),
    fc.integer({ min: 1, max: 1000 }).map(String),
    fc.constantFrom('1.5', '2.25'),
  ),
  nameOrNull: fc.oneof(
    fc.string({ minLength: 1 }).filter((s) => s.trim() !== ''),
    nullWords,
  ),
  nonEmptyName: fc.string({ minLength: 1 }).filter((s) => s.trim() !== ''),
  tcpPort: fc.integer({ min: 0, max: 65_535 }),
  function: fc.constant(() => undefined),
};

const notAScalar = fc.constantFrom<unknown>({}, [], { value: 1 }, [1]);

/** Values each kind must reject, whatever else the input holds. */
export const invalidValue: Record<FieldKind, fc.Arbitrary<unknown>> = {
  positiveInteger: fc.oneof(
    fc.constantFrom<unknown>(0, -1, 2.5, '2.5', 'x', Number.NaN, Infinity, true, null, '', 2 ** 53),
    fc.integer({ max: 0 }),
    notAScalar,
  ),
  positiveIntegerOrNull: fc.oneof(
    fc.constantFrom<unknown>(0, -1, 2.5, '2.5', 'x', Number.NaN, Infinity, true),
    fc.integer({ max: 0 }),
    notAScalar,
  ),
  nonNegativeInteger: fc.oneof(
    fc.constantFrom<unknown>(-1, 2.5, 'x', Number.NaN, null, true),
    fc.integer({ max: -1 }),
    notAScalar,
  ),
  nonNegativeIntegerOrNull: fc.oneof(
    fc.constantFrom<unknown>(-1, 2.5, 'x', Number.NaN, true),
    fc.integer({ max: -1 }),
    notAScalar,
  ),
  duration: fc.oneof(
    fc.constantFrom<unknown>(
      -1,
      Number.NaN,
      Infinity,
      '1d',
      '2s500ms',
      '1e3',
      MAX_TIMER_DELAY + 1,
      true,
      null,
      'x',
      '-5ms',
    ),
    fc.integer({ min: MAX_TIMER_DELAY + 1, max: Number.MAX_SAFE_INTEGER }),
    notAScalar,
  ),
  durationOrNull: fc.oneof(
    fc.constantFrom<unknown>(-1, Number.NaN, '1d', MAX_TIMER_DELAY + 1, true, 'x'),
    notAScalar,
  ),
  positiveDuration: fc.oneof(
    fc.constantFrom<unknown>(0, '0', '0ms', -5, Number.NaN, null, '1d', MAX_TIMER_DELAY + 1),
    notAScalar,
  ),
  positiveDurationOrNull: fc.oneof(
    fc.constantFrom<unknown>(0, '0', '0s', -5, Number.NaN, '1d', MAX_TIMER_DELAY + 1, true),
    notAScalar,
  ),
  boolean: fc.oneof(fc.constantFrom<unknown>('maybe', 1, 0, '', null, 2, 'garbage'), notAScalar),
  loopMode: fc.oneof(fc.constantFrom<unknown>('turbo', 1, true, 'streaming'), notAScalar),
  jitter: fc.oneof(fc.constantFrom<unknown>('partial', 2, 'random'), notAScalar),
  multiplier: fc.oneof(
    fc.constantFrom<unknown>(0.5, 0, -1, Number.NaN, Infinity, 'x', null, true),
    fc.double({ min: -1000, max: 0.999, noNaN: true }),
    notAScalar,
  ),
  nameOrNull: fc.oneof(fc.constantFrom<unknown>(5, true), notAScalar),
  nonEmptyName: fc.oneof(fc.constantFrom<unknown>('', '  ', 5, null, true), notAScalar),
  tcpPort: fc.oneof(fc.constantFrom<unknown>(-1, 65_536, 2.5, 'x', null), notAScalar),
  function: fc.oneof(fc.constantFrom<unknown>('x', 5, null, true), notAScalar),
};
