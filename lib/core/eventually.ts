import type { Observable } from 'rxjs';

/**
 * What a handler or connector method may return: a value, a Promise of it, or an Observable
 * whose last value it is (an Observable that completes empty means `undefined`).
 */
export type Eventually<T> = T | PromiseLike<T> | Observable<T>;
