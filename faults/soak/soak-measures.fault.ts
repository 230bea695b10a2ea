import { expect } from 'chai';
import { assessFlatness, describeFlatness } from './flatness.js';
import { lineChartSvg } from './line-chart.js';
import { linearTrend } from './linear-trend.js';
import { niceTicks } from './nice-ticks.js';

describe('Soak measures', () => {
  describe('linearTrend', () => {
    it('fits the least-squares line', () => {
      expect(linearTrend([0, 1, 2].map((x) => ({ x, y: 1 + 2 * x })))).to.deep.equal({
        slope: 2,
        intercept: 1,
      });
      const noisy = linearTrend([
        { x: 0, y: 0 },
        { x: 1, y: 2 },
        { x: 2, y: 1 },
        { x: 3, y: 3 },
      ]);
      expect(noisy.slope).to.be.closeTo(0.8, 1e-12);
      expect(noisy.intercept).to.be.closeTo(0.3, 1e-12);
    });

    it('is flat through the mean when x does not vary', () => {
      expect(
        linearTrend([
          { x: 5, y: 1 },
          { x: 5, y: 3 },
        ]),
      ).to.deep.equal({ slope: 0, intercept: 2 });
    });
  });

  describe('assessFlatness', () => {
    // Four minutes of samples, with a 30-second cycle standing in for garbage collections.
    const seconds = Array.from({ length: 241 }, (_, index) => index);
    const cycle = (second: number): number => 8 * Math.sin((2 * Math.PI * second) / 30);
    const bound = { maxRisePerMinute: 2, maxRange: 20 };

    it('passes a series that cycles around a level', () => {
      const values = seconds.map((second) => 150 + cycle(second));
      const judged = assessFlatness('RSS', 'MiB', seconds, values, bound);
      expect(judged.flat).to.equal(true);
      expect(Math.abs(judged.risePerMinute)).to.be.below(1);
    });

    it('fails a leak of 3 per minute hidden in the cycle, by its trend', () => {
      const values = seconds.map((second) => 150 + 0.05 * second + cycle(second));
      const judged = assessFlatness('RSS', 'MiB', seconds, values, bound);
      expect(judged.risePerMinute).to.be.closeTo(3, 0.75);
      expect(judged.flat).to.equal(false);
      expect(describeFlatness(judged)).to.match(
        /^RSS .* MiB, trend \+\d\.\d\d MiB\/min .*NOT flat$/,
      );
    });

    it('fails a spread beyond the bound even without a trend', () => {
      const values = seconds.map((second) => (second % 2 === 0 ? 100 : 130));
      expect(assessFlatness('RSS', 'MiB', seconds, values, bound).flat).to.equal(false);
    });

    it('needs two samples with a time each', () => {
      expect(() => assessFlatness('timers', '', [0], [1], bound)).to.throw(RangeError);
      expect(() => assessFlatness('timers', '', [0, 1], [1], bound)).to.throw(RangeError);
    });
  });

  describe('niceTicks', () => {
    it('widens the range to round steps', () => {
      expect(niceTicks(0, 187, 5)).to.deep.equal({
        start: 0,
        end: 200,
        step: 50,
        values: [0, 50, 100, 150, 200],
      });
      expect(niceTicks(0, 113.6, 10).values).to.deep.equal([
        0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120,
      ]);
      expect(niceTicks(0.12, 0.61, 5).values).to.deep.equal([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7]);
    });

    it('widens an empty range to one unit around the value', () => {
      expect(niceTicks(26, 26, 4).values).to.deep.equal([25.5, 25.75, 26, 26.25, 26.5]);
    });

    it('rejects a reversed or non-finite range', () => {
      expect(() => niceTicks(2, 1, 5)).to.throw(RangeError);
      expect(() => niceTicks(0, Infinity, 5)).to.throw(RangeError);
    });
  });

  describe('lineChartSvg', () => {
    const svg = lineChartSvg({
      title: 'Memory <soak> & more',
      xLabel: 'seconds',
      yLabel: 'MiB',
      yFromZero: true,
      series: [
        {
          name: 'RSS',
          color: '#1f77b4',
          points: [
            { x: 0, y: 90 },
            { x: 10, y: 120 },
          ],
        },
        {
          name: 'heap',
          color: '#e07b00',
          points: [
            { x: 0, y: 20 },
            { x: 10, y: 30 },
          ],
        },
      ],
      markers: [{ x: 5, label: 'warm-up ends', shadeBefore: true }],
    });

    it('draws one polyline per series, inside the plot area', () => {
      const lines = [...svg.matchAll(/<polyline points="([^"]+)"/g)].map((match) => match[1] ?? '');
      expect(lines).to.have.length(2);
      for (const line of lines) {
        for (const pair of line.split(' ')) {
          const [x = NaN, y = NaN] = pair.split(',').map(Number);
          expect(x).to.be.within(76, 960 - 32);
          expect(y).to.be.within(88, 480 - 60);
        }
      }
    });

    it('labels the axes from zero with round ticks, escapes text, marks the warm-up', () => {
      expect(svg).to.contain('Memory &lt;soak&gt; &amp; more');
      expect(svg).to.match(/>0<\/text>/);
      expect(svg).to.match(/>120<\/text>/);
      expect(svg).to.contain('stroke-dasharray');
      expect(svg).to.contain('>warm-up ends</text>');
      expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).to.equal(true);
    });
  });
});
