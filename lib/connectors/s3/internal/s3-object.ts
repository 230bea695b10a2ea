import type { TransactionError } from '../../../core/errors.js';
import type { PayloadCodec } from '../../../core/payload-codec.js';
import { describeError } from '../../../core/renderers.js';
import { traceHeaders, traceMetadata } from '../../../core/trace-headers.js';
import { transactionKey } from '../../../core/transaction-key.js';
import { createTransaction, markUndecodable, type Transaction } from '../../../core/transaction.js';

/** User metadata (`x-amz-meta-*`) names this connector reads and writes. */
const metadataNames = {
  id: 'ergon-id',
  key: 'ergon-key',
  error: 'ergon-error',
  errorCategory: 'ergon-error-category',
  errorStage: 'ergon-error-stage',
  sourceKey: 'ergon-source-key',
  line: 'ergon-line',
} as const;

/** The longest error text put in a failed object's metadata (S3 allows 2 KB of user metadata). */
const maxErrorText = 1024;

/**
 * The metadata of a transaction fetched from S3 (a `Transaction`'s metadata is a plain
 * record: read it as this type).
 *
 * @example
 * ```ts
 * const { objectKey, line } = tx.metadata as unknown as S3TransactionMetadata;
 * ```
 */
export interface S3TransactionMetadata {
  readonly bucket: string;
  /** The object's key (`metadata.key` is the ordering key, as for every connector). */
  readonly objectKey: string;
  /** The object's ETag when it was claimed. */
  readonly etag: string;
  /** The line number (1-based), in JSON-lines mode. */
  readonly line?: number;
  /** The object's user metadata (`x-amz-meta-*`, names in lower case). */
  readonly objectMetadata: Readonly<Record<string, string>>;
  readonly traceparent?: string;
  readonly tracestate?: string;
  /** The producer's `metadata.key` (user metadata `ergon-key`), in object mode. */
  readonly key?: string;
}

/** Where a fetched transaction came from. */
export interface ObjectSource {
  readonly bucket: string;
  readonly objectKey: string;
  readonly etag: string;
  readonly objectMetadata: Readonly<Record<string, string>>;
}

function decoded<P>(
  body: Uint8Array,
  codec: PayloadCodec<P>,
  id: string,
  metadata: Record<string, unknown>,
): Transaction<P> {
  try {
    return createTransaction(codec.decode(body), { id, metadata });
  } catch (error) {
    const text = Buffer.from(body).toString('utf8');
    return markUndecodable(createTransaction(text as P, { id, metadata }), error);
  }
}

function baseMetadata(source: ObjectSource): Record<string, unknown> {
  return {
    bucket: source.bucket,
    objectKey: source.objectKey,
    etag: source.etag,
    objectMetadata: source.objectMetadata,
    ...traceMetadata(source.objectMetadata),
  };
}

/** The transaction of a whole object: id from `ergon-id` (else the key), key from `ergon-key`. */
export function objectTransaction<P>(
  source: ObjectSource,
  body: Uint8Array,
  codec: PayloadCodec<P>,
): Transaction<P> {
  const metadata = baseMetadata(source);
  const key = source.objectMetadata[metadataNames.key];
  if (key !== undefined && key !== '') metadata['key'] = key;
  return decoded(
    body,
    codec,
    source.objectMetadata[metadataNames.id] ?? source.objectKey,
    metadata,
  );
}

/** The transaction of line `line` (1-based) of a JSON-lines object: id `<object key>#<line>`. */
export function lineTransaction<P>(
  source: ObjectSource,
  line: number,
  body: Uint8Array,
  codec: PayloadCodec<P>,
): Transaction<P> {
  const metadata = baseMetadata(source);
  metadata['line'] = line;
  return decoded(body, codec, `${source.objectKey}#${line}`, metadata);
}

/** Text as S3 user metadata carries it: printable US-ASCII only (anything else as `?`). */
function headerSafe(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, '?');
}

/** The user metadata of a dispatched object: id, ordering key and trace context. */
export function outboundMetadata(transaction: Transaction): Record<string, string> {
  const metadata: Record<string, string> = { [metadataNames.id]: headerSafe(transaction.id) };
  const key = transactionKey(transaction);
  if (key !== undefined) metadata[metadataNames.key] = headerSafe(key);
  for (const [name, value] of Object.entries(traceHeaders(transaction))) {
    metadata[name] = headerSafe(value);
  }
  return metadata;
}

/** The user metadata of a dead letter: the source's own, plus the error and where it came from. */
export function failedMetadata(
  source: ObjectSource,
  error: TransactionError,
  line?: number,
): Record<string, string> {
  const description = headerSafe(describeError(error));
  const metadata: Record<string, string> = {
    ...source.objectMetadata,
    [metadataNames.error]:
      description.length > maxErrorText
        ? `${description.slice(0, maxErrorText - 3)}...`
        : description,
    [metadataNames.errorCategory]: error.category,
    [metadataNames.sourceKey]: headerSafe(source.objectKey),
  };
  if (error.stage !== undefined) metadata[metadataNames.errorStage] = error.stage;
  if (line !== undefined) metadata[metadataNames.line] = String(line);
  return metadata;
}
