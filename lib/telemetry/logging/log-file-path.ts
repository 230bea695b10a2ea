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

/**
 * The path one writer of a rotating log file uses when several processes log with the same
 * configuration (a worker pool): `writer` inserted before the extension, so each process
 * rotates a file of its own and none renames another's lines away. A path that already
 * differs per process (`{pid}` in the template) is left as it is.
 *
 * @example
 * ```ts
 * writerLogFilePath('logs/app.log', 'logs/app.log', 'worker-2'); // 'logs/app.worker-2.log'
 * ```
 */
export function writerLogFilePath(
  path: string,
  template: string,
  writer: string | undefined,
): string {
  if (writer === undefined || template.includes('{pid}')) return path;
  const name = path.slice(path.lastIndexOf('/') + 1);
  const dot = name.lastIndexOf('.');
  if (dot <= 0) return `${path}.${writer}`;
  const extension = name.slice(dot);
  return `${path.slice(0, path.length - extension.length)}.${writer}${extension}`;
}
