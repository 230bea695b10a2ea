import { jsonCodec, PayloadDecodeError, type PayloadCodec } from '../../core/payload-codec.js';
import type { PayloadColumnType } from './postgres-connector-config.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Turns payloads into values of the queue table's `payload` column and back, through the
 * connector's codec: JSON text for a `jsonb` column (read back as `payload::text`), bytes for
 * `bytea`. With the default {@link jsonCodec} and a `jsonb` column, the text goes straight
 * through `JSON.stringify`/`JSON.parse`, which is what the codec does minus the UTF-8 round trip.
 */
export class PayloadColumn<P> {
  private readonly plainJson: boolean;

  constructor(
    private readonly type: PayloadColumnType,
    private readonly codec: PayloadCodec<P>,
  ) {
    this.plainJson = type === 'jsonb' && (codec as PayloadCodec<unknown>) === jsonCodec;
  }

  /**
   * The column value for `payload`.
   *
   * @throws whatever the codec throws; PayloadDecodeError when a `jsonb` column gets bytes
   *   that are not UTF-8.
   */
  encode(payload: P): string | Buffer {
    if (this.plainJson) {
      const text = JSON.stringify(payload) as string | undefined;
      if (text === undefined)
        throw new PayloadDecodeError(`cannot encode ${typeof payload} as JSON`);
      return text;
    }
    const bytes = this.codec.encode(payload);
    if (this.type === 'bytea') return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    try {
      return utf8.decode(bytes);
    } catch (error) {
      throw new PayloadDecodeError('a jsonb payload column needs UTF-8 JSON text from the codec', {
        cause: error,
      });
    }
  }

  /** The payload of a column value. @throws whatever the codec throws for a bad body. */
  decode(value: string | Buffer): P {
    if (this.plainJson && typeof value === 'string') return JSON.parse(value) as P;
    return this.codec.decode(typeof value === 'string' ? Buffer.from(value, 'utf8') : value);
  }
}
