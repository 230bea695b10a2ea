import { ConnectorContractError } from '../core/errors.js';
import type { Connector } from '../core/connector.js';

/** Fails fast when a connector cannot dispatch. */
export function requireDispatch(connector: unknown, caller: string): void {
  if (typeof (connector as Partial<Connector> | null)?.dispatch !== 'function') {
    throw new ConnectorContractError(
      `${caller} needs a connector with a dispatch(transactions) method`,
    );
  }
}
