import { ErgonError } from '../../core/errors.js';

/**
 * The broker could not be reached or refused the connection. `permanent` is `true` when
 * retrying cannot help without a change (wrong credentials, unknown vhost); a
 * {@link RabbitmqService} keeps reconnecting otherwise.
 */
export class RabbitmqConnectionError extends ErgonError {
  readonly permanent: boolean;
  constructor(message: string, options: { cause?: unknown; permanent?: boolean } = {}) {
    super(message, { cause: options.cause });
    this.permanent = options.permanent ?? false;
  }
}
