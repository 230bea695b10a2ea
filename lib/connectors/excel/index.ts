export {
  ExcelConnector,
  type ExcelConnectorOptions,
  type ExcelRow,
  type ExcelRowMetadata,
} from './excel-connector.js';
export type { ExcelCell } from './internal/cell-values.js';
export { ExcelLedgerError, ExcelWorkbookError } from './errors.js';
