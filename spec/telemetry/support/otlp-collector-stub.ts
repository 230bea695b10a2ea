import {
  Server,
  ServerCredentials,
  type MethodDefinition,
  type sendUnaryData,
  type ServerUnaryCall,
  type ServiceDefinition,
} from '@grpc/grpc-js';

type Signal = 'trace' | 'metrics' | 'logs';

const services: Readonly<Record<Signal, string>> = {
  trace: 'opentelemetry.proto.collector.trace.v1.TraceService',
  metrics: 'opentelemetry.proto.collector.metrics.v1.MetricsService',
  logs: 'opentelemetry.proto.collector.logs.v1.LogsService',
};

const identity = (bytes: Buffer): Buffer => bytes;

function exportMethod(signal: Signal): ServiceDefinition {
  const method: MethodDefinition<Buffer, Buffer> = {
    path: `/${services[signal]}/Export`,
    requestStream: false,
    responseStream: false,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  };
  return { Export: method };
}

/**
 * An OTLP gRPC collector for specs: serves the three `Export` methods on a free loopback port,
 * keeps every request body (raw protobuf) and answers with an empty (successful) response.
 */
export class OtlpCollectorStub {
  private constructor(
    private readonly server: Server,
    readonly port: number,
    /** The raw request bodies received, by signal. */
    readonly requests: Readonly<Record<Signal, Buffer[]>>,
  ) {}

  /** `http://127.0.0.1:<port>`, for an exporter's `endpoint`. */
  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  static async start(): Promise<OtlpCollectorStub> {
    const server = new Server();
    const requests: Record<Signal, Buffer[]> = { trace: [], metrics: [], logs: [] };
    for (const signal of Object.keys(services) as Signal[]) {
      server.addService(exportMethod(signal), {
        Export: (call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>) => {
          requests[signal].push(call.request);
          callback(null, Buffer.alloc(0));
        },
      });
    }
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, bound) =>
        error === null ? resolve(bound) : reject(error),
      ),
    );
    return new OtlpCollectorStub(server, port, requests);
  }

  stop(): Promise<void> {
    return new Promise((resolve) => {
      this.server.tryShutdown(() => resolve());
    });
  }
}
