/**
 * The optimal-string-alignment distance between `a` and `b`: how many insertions, deletions,
 * substitutions and swaps of adjacent characters turn one into the other.
 *
 * @example
 * ```ts
 * editDistance('concurency', 'concurrency'); // 1
 * editDistance('stremaing', 'streaming'); // 1
 * ```
 */
export function editDistance(a: string, b: string): number {
  let beforePrevious: number[] = [];
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = a[i - 1] === b[j - 1] ? 0 : 1;
      let distance = Math.min(
        (previous[j] ?? 0) + 1,
        (current[j - 1] ?? 0) + 1,
        (previous[j - 1] ?? 0) + substitution,
      );
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        distance = Math.min(distance, (beforePrevious[j - 2] ?? 0) + 1);
      }
      current.push(distance);
    }
    beforePrevious = previous;
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/**
 * The candidate closest to `word` (ignoring case), if it is close enough to be a likely typo:
 * at most one edit for short words, one edit per three characters for longer ones.
 *
 * @example
 * ```ts
 * closestCandidate('max_attempts', ['maxAttempts', 'timeout']); // 'maxAttempts'
 * closestCandidate('colour', ['maxAttempts', 'timeout']); // undefined
 * ```
 */
export function closestCandidate(word: string, candidates: readonly string[]): string | undefined {
  const lowerWord = word.toLowerCase();
  const allowed = Math.max(1, Math.floor(word.length / 3));
  let best: string | undefined;
  let bestDistance = allowed + 1;
  for (const candidate of candidates) {
    const distance = editDistance(lowerWord, candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}
