import { isObservable, lastValueFrom } from 'rxjs';
import type { Eventually } from '../core/connector.js';

/**
 * Waits for an {@link Eventually}: a value, a Promise, or the last value of an Observable
 * (`undefined` when it completes empty).
 */
export async function awaitEventually<T>(value: Eventually<T>): Promise<T | undefined> {
  if (isObservable(value)) return lastValueFrom(value, { defaultValue: undefined });
  return value;
}
