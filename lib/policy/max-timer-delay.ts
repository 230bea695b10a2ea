/**
 * The longest delay in milliseconds a JavaScript timer honours (2³¹ − 1, about 24.8 days).
 * Node runs a longer `setTimeout` (and so an RxJS `timer`) after 1 ms instead, so no policy
 * duration and no backoff delay is ever larger than this.
 */
export const MAX_TIMER_DELAY = 2_147_483_647;
