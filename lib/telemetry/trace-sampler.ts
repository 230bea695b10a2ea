import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  type Sampler,
} from '@opentelemetry/sdk-trace-node';
import type { SamplerConfig } from './config/traces-config.js';

/**
 * The OpenTelemetry sampler of a sampler configuration.
 *
 * @example
 * ```ts
 * traceSampler({ type: 'parentbased_ratio', ratio: 0.1 }); // ParentBased{root=TraceIdRatioBased{0.1}}
 * ```
 */
export function traceSampler(config: SamplerConfig): Sampler {
  switch (config.type) {
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'ratio':
      return new TraceIdRatioBasedSampler(config.ratio);
    case 'parentbased_always_on':
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbased_ratio':
      return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(config.ratio) });
  }
}
