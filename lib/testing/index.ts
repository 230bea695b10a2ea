export {
  MarbleConnector,
  type RecordedFetch,
  type RecordedSettlement,
} from './marble-connector.js';
export { marbleHandler, type MarbleHandler, type RecordedCall } from './marble-handler.js';
export { summarize } from './summarize.js';
