import type * as t from 'io-ts';
import { isPlainObject } from '../../policy/plain-object.js';
import { orNull } from '../../policy/or-null.js';
import { scalarCodec } from '../../policy/scalar-codec.js';
import { strictStruct } from '../../policy/strict-struct.js';
import { withDefault } from '../../policy/with-default.js';
import { NonEmptyText } from './non-empty-text.js';

/** A resource attribute's value. */
export type ResourceAttributeValue = string | number | boolean;

/** What the exported telemetry says about who sent it. */
export interface ResourceConfig {
  /**
   * `service.name`; `null` falls back to `OTEL_SERVICE_NAME`, then a `service.name` in
   * `attributes`, then `taskName`, then OpenTelemetry's `unknown_service:node`.
   */
  readonly serviceName: string | null;
  /** `ergon.task.name`, and the `task` of log records outside any task context. */
  readonly taskName: string | null;
  /** More resource attributes (`deployment.environment.name`, …); ergon's own keys win. */
  readonly attributes: Readonly<Record<string, ResourceAttributeValue>>;
}

/** A {@link ResourceConfig} as a configuration accepts it. */
export interface ResourceConfigInput {
  readonly serviceName?: string | null;
  readonly taskName?: string | null;
  readonly attributes?: Readonly<Record<string, ResourceAttributeValue>>;
}

const isAttributeValue = (u: unknown): u is ResourceAttributeValue =>
  typeof u === 'string' || typeof u === 'boolean' || (typeof u === 'number' && Number.isFinite(u));

const isAttributes = (u: unknown): u is Readonly<Record<string, ResourceAttributeValue>> =>
  isPlainObject(u) && Object.values(u).every(isAttributeValue);

const noAttributes: Readonly<Record<string, ResourceAttributeValue>> = Object.freeze({});

/** Codec of {@link ResourceConfig}. */
export const ResourceConfigCodec: t.Type<ResourceConfig, ResourceConfig, unknown> = strictStruct(
  'ResourceConfig',
  {
    serviceName: withDefault(orNull(NonEmptyText), null),
    taskName: withDefault(orNull(NonEmptyText), null),
    attributes: withDefault(
      scalarCodec('object of strings, numbers and booleans', isAttributes, (u) =>
        isAttributes(u) ? u : undefined,
      ),
      noAttributes,
    ),
  },
);
