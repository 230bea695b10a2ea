import { ErgonError } from './errors.js';

/** Turns payloads into message bodies and back. Connectors use {@link jsonCodec} by default. */
export interface PayloadCodec<P = unknown> {
  /** A MIME type for the body, sent where the transport has a place for it. */
  readonly contentType: string;
  encode(payload: P): Uint8Array;
  /** Throws when the body cannot be decoded; the connector then marks the transaction undecodable. */
  decode(body: Uint8Array): P;
}

/** A body that is not what the codec expects. */
export class PayloadDecodeError extends ErgonError {}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** UTF-8 JSON bodies. */
export const jsonCodec: PayloadCodec = Object.freeze({
  contentType: 'application/json',
  encode: (payload: unknown): Uint8Array => {
    const text = JSON.stringify(payload);
    if (text === undefined) {
      throw new PayloadDecodeError(`cannot encode ${typeof payload} as JSON`);
    }
    return encoder.encode(text);
  },
  decode: (body: Uint8Array): unknown => {
    let text: string;
    try {
      text = decoder.decode(body);
    } catch (error) {
      throw new PayloadDecodeError('body is not valid UTF-8', { cause: error });
    }
    try {
      return JSON.parse(text) as unknown;
    } catch (error) {
      const excerpt = text.length > 60 ? `${text.slice(0, 57)}...` : text;
      throw new PayloadDecodeError(`body is not valid JSON: ${JSON.stringify(excerpt)}`, {
        cause: error,
      });
    }
  },
});
