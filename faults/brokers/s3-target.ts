import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { TcpProxy } from '../../spec/support/tcp-proxy.js';
import type { BrokerEndpoint } from '../support/broker-endpoint.js';
import type { BrokerTarget, RawMessage } from '../support/broker-target.js';

/** The shared S3Mock of the integration specs. */
const SHARED_PORT = 9090;

/** Where the target's objects wait; the connector's `done/`, `failed/` and `claims/` are beside it. */
export const S3_TARGET_PREFIX = 'in/';
const FAILED_PREFIX = 'failed/';

/**
 * A bucket of its own on an S3Mock, whose objects under `in/` are the messages (one per object),
 * reached by the workers through a TCP proxy so that cutting "the server's" connections is
 * cutting the proxy's (S3 is HTTP: the server has no client list to kill). Dead letters are the
 * objects under `failed/`, their error in the `ergon-error` user metadata.
 */
export class S3Target implements BrokerTarget {
  readonly broker = 's3';
  readonly endpoint: BrokerEndpoint;
  private readonly admin: S3Client;

  private constructor(
    private readonly proxy: TcpProxy,
    serverPort: number,
    settings: Pick<BrokerEndpoint, 'maxDeliveries' | 'leaseMs'>,
  ) {
    // S3 bucket names: lower case, digits and hyphens.
    const bucket = `ergon-fault-${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
    this.endpoint = {
      broker: 's3',
      url: `http://127.0.0.1:${proxy.listeningPort}`,
      destination: bucket,
      clientName: bucket,
      ...settings,
    };
    this.admin = new S3Client({
      endpoint: `http://127.0.0.1:${serverPort}`,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'ergon', secretAccessKey: 'ergon' },
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  }

  /** A new bucket on the S3 server at `serverPort`; `leaseMs` is the connector's `claimTtl`. */
  static async open(
    serverPort = SHARED_PORT,
    settings: Pick<BrokerEndpoint, 'maxDeliveries' | 'leaseMs'> = {
      maxDeliveries: 5,
      leaseMs: 2000,
    },
  ): Promise<S3Target> {
    const target = new S3Target(await TcpProxy.start(serverPort), serverPort, settings);
    await target.admin.send(new CreateBucketCommand({ Bucket: target.endpoint.destination }));
    return target;
  }

  private async keys(prefix: string): Promise<string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const page = await this.admin.send(
        new ListObjectsV2Command({
          Bucket: this.endpoint.destination,
          Prefix: prefix,
          ContinuationToken: token,
        }),
      );
      for (const { Key } of page.Contents ?? []) if (Key !== undefined) keys.push(Key);
      token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
    return keys;
  }

  /** An object `in/<id>.json` per message, its id in `ergon-id`, as any other writer could. */
  async publishRaw(messages: readonly RawMessage[]): Promise<void> {
    for (const { id, body } of messages) {
      await this.admin.send(
        new PutObjectCommand({
          Bucket: this.endpoint.destination,
          Key: `${S3_TARGET_PREFIX}${id}.json`,
          Body: body,
          Metadata: { 'ergon-id': id },
        }),
      );
    }
  }

  /** Objects still under `in/` (claimed ones included). */
  async outstanding(): Promise<number> {
    return (await this.keys(S3_TARGET_PREFIX)).length;
  }

  async deadLettered(): Promise<string[]> {
    return [...(await this.deadLetterErrors()).keys()];
  }

  /** The `ergon-error` metadata of each object under `failed/`, by its `ergon-id`. */
  async deadLetterErrors(): Promise<ReadonlyMap<string, string>> {
    const errors = new Map<string, string>();
    for (const key of await this.keys(FAILED_PREFIX)) {
      const head = await this.admin.send(
        new HeadObjectCommand({ Bucket: this.endpoint.destination, Key: key }),
      );
      const metadata = head.Metadata ?? {};
      errors.set(metadata['ergon-id'] ?? key, metadata['ergon-error'] ?? '');
    }
    return errors;
  }

  cutConnections(): Promise<number> {
    return Promise.resolve(this.proxy.cut());
  }

  async dispose(): Promise<void> {
    for (const key of await this.keys('')) {
      await this.admin.send(
        new DeleteObjectCommand({ Bucket: this.endpoint.destination, Key: key }),
      );
    }
    await this.admin.send(new DeleteBucketCommand({ Bucket: this.endpoint.destination }));
    this.admin.destroy();
    await this.proxy.close();
  }
}
