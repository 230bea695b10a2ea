/**
 * A reader of the protobuf wire format, just enough to find fields in the OTLP requests the
 * collector stub receives (no schema: callers know the field numbers from the OTLP protos).
 */
interface ProtobufField {
  readonly number: number;
  readonly wireType: number;
  /** Varints and fixed-size numbers as bigint; length-delimited fields as bytes. */
  readonly value: bigint | Uint8Array;
}

/** Every top-level field of a message, in wire order. */
function protobufFields(message: Uint8Array): ProtobufField[] {
  const fields: ProtobufField[] = [];
  let offset = 0;
  const varint = (): bigint => {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      const byte = message[offset++];
      if (byte === undefined) throw new Error('truncated varint');
      result |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return result;
      shift += 7n;
    }
  };
  const fixed = (bytes: number): bigint => {
    let result = 0n;
    for (let i = bytes - 1; i >= 0; i--) result = (result << 8n) | BigInt(message[offset + i] ?? 0);
    offset += bytes;
    return result;
  };
  while (offset < message.length) {
    const key = varint();
    const number = Number(key >> 3n);
    const wireType = Number(key & 7n);
    switch (wireType) {
      case 0:
        fields.push({ number, wireType, value: varint() });
        break;
      case 1:
        fields.push({ number, wireType, value: fixed(8) });
        break;
      case 2: {
        const length = Number(varint());
        fields.push({ number, wireType, value: message.subarray(offset, offset + length) });
        offset += length;
        break;
      }
      case 5:
        fields.push({ number, wireType, value: fixed(4) });
        break;
      default:
        throw new Error(`unsupported wire type ${wireType}`);
    }
  }
  return fields;
}

/** The length-delimited values (sub-messages, strings, bytes) of field `number`. */
export function bytesFields(message: Uint8Array, number: number): Uint8Array[] {
  return protobufFields(message)
    .filter((field) => field.number === number && field.value instanceof Uint8Array)
    .map((field) => field.value as Uint8Array);
}

/** The first value of a string field, or `undefined`. */
export function stringField(message: Uint8Array, number: number): string | undefined {
  const [value] = bytesFields(message, number);
  return value === undefined ? undefined : Buffer.from(value).toString('utf8');
}

/** The first value of a bytes field as hex (trace and span ids), or `undefined`. */
export function hexField(message: Uint8Array, number: number): string | undefined {
  const [value] = bytesFields(message, number);
  return value === undefined ? undefined : Buffer.from(value).toString('hex');
}

/** The first value of a varint field, or `undefined`. */
export function numberField(message: Uint8Array, number: number): number | undefined {
  const field = protobufFields(message).find((f) => f.number === number && f.wireType === 0);
  return field === undefined ? undefined : Number(field.value);
}
