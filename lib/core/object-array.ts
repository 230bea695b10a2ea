/**
 * An empty array made with object elements from the start, for arrays of objects that an
 * engine run creates anew (queues, buffers). V8 gives `[]` small-integer elements and moves it
 * to object elements on the first object stored, which changes the array's map: the first pass
 * of every run after the first then meets an array map that the code optimized in the earlier
 * run never saw and deoptimizes it (`wrong map` in `--trace-deopt`), and a field that held
 * such an array loses its tracked type, which throws away every optimized function relying
 * on it (`code dependencies`). An array that has object elements from its birth keeps one map.
 */
export function objectArray<T>(): T[] {
  const array: T[] = [undefined as T];
  array.length = 0;
  return array;
}
