// A worker of the file-connector fault: consumes a JSON-lines file of `{ "n": … }` records with
// a FileConnector and, for each line it processes, appends `<n> <pid> <ms>` to the ledger file
// (a synchronous append: it is in the file before the line can be settled, so a SIGKILL never
// hides a processing). Arguments: `<input> <ledger> <streaming|drain>`. `streaming` follows
// the file until killed; `drain` reads it to the end, closes the connector and exits 0.
import { appendFileSync } from 'node:fs';
import { lastValueFrom } from 'rxjs';
import { consume, consumerTask, FileConnector, type Transaction } from '../../lib/index.js';

const [input, ledger, mode] = process.argv.slice(2);
if (input === undefined || ledger === undefined || (mode !== 'streaming' && mode !== 'drain')) {
  throw new Error('usage: file-worker.ts <input> <ledger> <streaming|drain>');
}
const streaming = mode === 'streaming';
const connector = new FileConnector<{ n: number }>({ path: input, streaming });
const task = consumerTask({
  process: (tx: Transaction<{ n: number }>) => {
    appendFileSync(ledger, `${tx.payload.n} ${process.pid} ${Date.now()}\n`);
  },
});
process.stdout.write(`ready ${process.pid}\n`);
await lastValueFrom(
  consume(connector, task, {
    loop: { mode: 'continuous', concurrency: { value: 16 }, streaming },
    fetch: { empty: { backoff: 2, backoffCap: 20 } },
  }),
  { defaultValue: undefined },
);
await connector.close();
