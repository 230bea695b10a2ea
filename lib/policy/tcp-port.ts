import type * as t from 'io-ts';
import { parseNumber } from './parse-number.js';
import { scalarCodec } from './scalar-codec.js';

/**
 * A TCP port from a number or a decimal string: an integer from `minimum` (0 lets the system
 * pick a free port) to 65535, else `undefined`.
 *
 * @example
 * ```ts
 * parseTcpPort('9464'); // 9464
 * parseTcpPort('99999'); // undefined
 * ```
 */
export function parseTcpPort(u: unknown, minimum: 0 | 1 = 0): number | undefined {
  const n = parseNumber(u);
  return n !== undefined && Number.isInteger(n) && n >= minimum && n <= 65_535 ? n : undefined;
}

function tcpPortCodec(minimum: 0 | 1): t.Type<number, number, unknown> {
  return scalarCodec(
    `TCP port (${minimum}-65535)`,
    (u): u is number => typeof u === 'number' && parseTcpPort(u, minimum) === u,
    (u) => parseTcpPort(u, minimum),
  );
}

/** Codec of a port to listen on: 0–65535 (0: any free port), a number or a string (`"8080"`). */
export const TcpPort = tcpPortCodec(0);

/** Codec of a fixed port, 1–65535 (for a server that cannot take "any free port"). */
export const FixedTcpPort = tcpPortCodec(1);
