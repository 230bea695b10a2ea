import { expect } from 'chai';
import { parseDuration } from '../../lib/policy/codecs/values.js';

describe('parseDuration', () => {
  const accepted: [unknown, number][] = [
    [0, 0],
    [250, 250],
    [0.5, 0.5],
    ['250', 250],
    ['2.5', 2.5],
    ['.5', 0.5],
    ['250ms', 250],
    ['250 ms', 250],
    ['2s', 2000],
    ['1.5s', 1500],
    ['1.1s', 1100],
    ['0.001s', 1],
    ['1m', 60_000],
    ['1.5m', 90_000],
    ['1h', 3_600_000],
    [' 3S ', 3000],
    ['10MS', 10],
    ['2H', 7_200_000],
  ];
  for (const [input, expected] of accepted) {
    it(`${JSON.stringify(input)} → ${expected}`, () => {
      expect(parseDuration(input)).to.equal(expected);
    });
  }

  const rejected: unknown[] = [
    -1,
    Number.NaN,
    Infinity,
    '',
    ' ',
    '-1',
    '-1s',
    '1d',
    '1 day',
    '2s500ms',
    '1e3',
    'ms',
    '1.2.3s',
    null,
    undefined,
    true,
    {},
    [1],
  ];
  for (const input of rejected) {
    it(`rejects ${JSON.stringify(input)}`, () => {
      expect(parseDuration(input)).to.equal(undefined);
    });
  }
});
