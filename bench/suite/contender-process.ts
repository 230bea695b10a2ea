/**
 * Child-process entry of the suite: runs one contender (an optional warm-up run first, in the same
 * heap), then prints its result with the process's peak RSS and the CPU time it spent per
 * transaction in the measured run on a line starting with {@link resultMarker}.
 *
 * Usage: node .bench/suite/contender-process.js <module> <export> <params JSON> [<warm-up JSON>]
 */
import type { Contender } from '../contenders/run-result.js';
import { resultMarker } from './result-marker.js';

const [module, name, params, warmup] = process.argv.slice(2);
if (module === undefined || name === undefined || params === undefined) {
  throw new Error('usage: contender-process.js <module> <export> <params JSON> [<warm-up JSON>]');
}
const exports = (await import(new URL(`../${module}`, import.meta.url).href)) as Record<
  string,
  unknown
>;
const contender = exports[name];
if (typeof contender !== 'function') throw new Error(`${module} exports no function ${name}`);
const run = contender as Contender<unknown>;
if (warmup !== undefined) await run(JSON.parse(warmup));
// No forced garbage collection here: a worker never has one, and a full collection also shrinks
// the young generation, which slows the first waves of whichever contender keeps more objects
// per transaction in flight.
const cpuBefore = process.cpuUsage();
const result = await run(JSON.parse(params));
const { user, system } = process.cpuUsage(cpuBefore);
const rss = process.resourceUsage().maxRSS / 1024;
const measurement = { ...result, rss, cpu: (user + system) / result.count };
process.stdout.write(`${resultMarker}${JSON.stringify(measurement)}\n`);
// Drivers may keep sockets or timers alive after closing; the measurement is done.
process.exit(0);
