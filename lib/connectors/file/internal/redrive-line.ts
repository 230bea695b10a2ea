import { redriveOfKey } from '../../../core/dead-letters.js';
import { isPlainObject } from '../../../policy/codecs/structures.js';

/**
 * The reserved key of a line a dead-letter redrive appended to a JSON-lines file: the line
 * is `{"ergon-redrive":{…envelope},"line":"<payload line>"}`, and the connector reads the
 * payload line inside it (with its own `parse`) under the envelope's id and trace context.
 */
const envelopeKey = 'ergon-redrive';
const prefix = `{"${envelopeKey}":`;

/** What a redriven line carries besides its payload. */
export interface RedriveEnvelope {
  /** Where its dead letter was (`<dead file>#<offset>`): `metadata['ergon-redrive-of']`. */
  readonly of: string;
  /** The transaction id to deliver it under; absent: the line's own id. */
  readonly id?: string;
  /** The W3C trace context to continue (`traceparent`, `tracestate`). */
  readonly trace: Readonly<Record<string, string>>;
}

/** The line a redrive appends: the envelope and the payload line (no newline). */
export function redriveLine(envelope: RedriveEnvelope, line: string): string {
  return JSON.stringify({ [envelopeKey]: envelope, line });
}

/**
 * The envelope and payload line of a line a redrive appended, or `undefined` for any other
 * line (including one that only looks like it).
 */
export function readRedriveLine(
  text: string,
): { readonly envelope: RedriveEnvelope; readonly line: string } | undefined {
  if (!text.startsWith(prefix)) return undefined;
  let record: unknown;
  try {
    record = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isPlainObject(record) || typeof record['line'] !== 'string') return undefined;
  const envelope = record[envelopeKey];
  if (!isPlainObject(envelope) || typeof envelope['of'] !== 'string') return undefined;
  const trace: Record<string, string> = {};
  if (isPlainObject(envelope['trace'])) {
    for (const [key, value] of Object.entries(envelope['trace'])) {
      if (typeof value === 'string') trace[key] = value;
    }
  }
  return {
    envelope: {
      of: envelope['of'],
      ...(typeof envelope['id'] === 'string' ? { id: envelope['id'] } : {}),
      trace,
    },
    line: record['line'],
  };
}

/** The metadata a redriven line adds to its transaction's. */
export function redriveMetadata(envelope: RedriveEnvelope): Record<string, string> {
  return { ...envelope.trace, [redriveOfKey]: envelope.of };
}
