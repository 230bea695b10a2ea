/**
 * A log file name with its placeholders filled in: `{pid}` (the process id), `{task}` (the
 * task name, `ergon` when there is none) and `{timestamp}` (local time at setup,
 * `YYYY-MM-DD_HH-MM-SS`), as the Python reference spells them.
 *
 * @example
 * ```ts
 * logFilePath('logs/{task}-{pid}.log', 'orders'); // 'logs/orders-4242.log'
 * ```
 */
export function logFilePath(template: string, task: string | undefined, now = new Date()): string {
  return template
    .replaceAll('{pid}', String(process.pid))
    .replaceAll('{task}', task ?? 'ergon')
    .replaceAll('{timestamp}', fileTimestamp(now));
}

function fileTimestamp(date: Date): string {
  const two = (n: number): string => String(n).padStart(2, '0');
  const day = `${date.getFullYear()}-${two(date.getMonth() + 1)}-${two(date.getDate())}`;
  return `${day}_${two(date.getHours())}-${two(date.getMinutes())}-${two(date.getSeconds())}`;
}
