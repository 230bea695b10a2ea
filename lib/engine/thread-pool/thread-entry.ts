/**
 * The script each {@link ThreadPool} thread runs: imports the requested module by URL (once
 * per module), calls the named export with the payload and posts back the result or the
 * error. One call at a time; the pool never sends a thread a second call before the answer.
 */
import { parentPort } from 'node:worker_threads';
import { serializeThreadError } from './thread-errors.js';
import type { ThreadFunction } from './thread-pool.js';
import type { ThreadRequest, ThreadResponse } from './thread-messages.js';

const modules = new Map<string, Promise<Record<string, unknown>>>();

async function load(request: ThreadRequest): Promise<ThreadFunction> {
  let module = modules.get(request.moduleUrl);
  if (module === undefined) {
    module = import(request.moduleUrl) as Promise<Record<string, unknown>>;
    modules.set(request.moduleUrl, module);
    module.catch(() => modules.delete(request.moduleUrl));
  }
  const target = (await module)[request.exportName];
  if (typeof target !== 'function') {
    throw new TypeError(`${request.moduleUrl} has no function export "${request.exportName}"`);
  }
  return target as ThreadFunction;
}

async function answer(request: ThreadRequest): Promise<ThreadResponse> {
  try {
    const fn = await load(request);
    return { ok: true, value: await fn(request.payload, request.info) };
  } catch (error) {
    return { ok: false, error: serializeThreadError(error) };
  }
}

const port = parentPort;
if (port === null) throw new Error('thread-entry must run in a worker thread');
port.on('message', (request: ThreadRequest) => {
  void answer(request).then((response) => {
    try {
      port.postMessage(response);
    } catch (error) {
      // The result could not be cloned (a function, a class with private state, …).
      port.postMessage({ ok: false, error: serializeThreadError(error) } satisfies ThreadResponse);
    }
  });
});
