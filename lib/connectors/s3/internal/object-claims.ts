import {
  DeleteObjectCommand,
  GetObjectCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { AwsRequests } from '../../aws/aws-requests.js';
import { awsErrorName, httpStatusOf } from '../../aws/aws-requests.js';

/** Where processing of an object stands: the end of its settled prefix. */
export interface ObjectCursor {
  /** Bytes of the object whose lines are all settled. */
  readonly offset: number;
  /** Lines in those bytes. */
  readonly line: number;
}

/** What a claim object holds (JSON). */
interface ClaimBody extends ObjectCursor {
  readonly owner: string;
  /** When the claim lapses unless renewed (ms since the epoch, the owner's clock). */
  readonly expiresAt: number;
}

/** A claim this worker holds. */
export interface HeldClaim {
  readonly objectKey: string;
  readonly claimKey: string;
  /** The claim object's ETag (the `If-Match` of the next write), `''` without conditional writes. */
  etag: string;
  /** Where a previous owner stopped (a restart resumes here). */
  readonly resumeAt: ObjectCursor;
}

const start: ObjectCursor = Object.freeze({ offset: 0, line: 0 });

function numberIn(record: Record<string, unknown>, key: string): number {
  const value = record[key];
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : 0;
}

/** A claim object's content; a damaged one reads as a lapsed claim at the start. */
function claimBody(text: string): ClaimBody {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = {};
  }
  const record = (typeof parsed === 'object' && parsed !== null ? parsed : {}) as Record<
    string,
    unknown
  >;
  return {
    owner: typeof record['owner'] === 'string' ? record['owner'] : '',
    expiresAt: numberIn(record, 'expiresAt'),
    offset: numberIn(record, 'offset'),
    line: numberIn(record, 'line'),
  };
}

function cursorOf(body: ClaimBody): ObjectCursor {
  return { offset: body.offset, line: body.line };
}

/** A conditional write lost: someone else wrote the claim first (412, or 409 while racing). */
function lostRace(error: unknown): boolean {
  const status = httpStatusOf(error);
  return status === 412 || status === 409 || awsErrorName(error) === 'PreconditionFailed';
}

function notFound(error: unknown): boolean {
  return httpStatusOf(error) === 404 || awsErrorName(error) === 'NoSuchKey';
}

/**
 * Leases on objects, as small JSON objects under the claim prefix, written with conditional
 * writes: a new claim with `If-None-Match: *` (only one worker creates it), a renewal or the
 * takeover of a lapsed claim with `If-Match: <etag>` (only one worker wins). A claim holds the
 * cursor (offset and line) of its object, so whoever claims it next resumes there.
 *
 * Without conditional writes (`conditional: false`, for servers that lack them, with workers
 * partitioned by key hash), the same objects are written unconditionally.
 */
export class ObjectClaims {
  constructor(
    private readonly client: S3Client,
    private readonly requests: AwsRequests,
    private readonly bucket: string,
    private readonly prefix: string,
    private readonly owner: string,
    private readonly ttl: number,
    private readonly conditional: boolean,
  ) {}

  /** Claims `objectKey`: a new claim, or one that lapsed; `null` when another worker holds it. */
  async take(objectKey: string, signal?: AbortSignal): Promise<HeldClaim | null> {
    const claimKey = `${this.prefix}${objectKey}`;
    if (!this.conditional) {
      const existing = await this.read(claimKey, signal);
      const cursor =
        existing === null ? start : { offset: existing.body.offset, line: existing.body.line };
      const etag = await this.write(claimKey, cursor, Date.now() + this.ttl, {}, signal);
      return { objectKey, claimKey, etag: etag ?? '', resumeAt: cursor };
    }
    const fresh = await this.write(
      claimKey,
      start,
      Date.now() + this.ttl,
      { IfNoneMatch: '*' },
      signal,
    );
    if (fresh !== null) return { objectKey, claimKey, etag: fresh, resumeAt: start };
    const current = await this.read(claimKey, signal);
    // Finished and removed meanwhile: the object is gone too (or will be listed again).
    if (current === null) return null;
    // Ours already: a write whose answer a dropped connection lost, then repeated.
    if (current.body.owner === this.owner) {
      return { objectKey, claimKey, etag: current.etag, resumeAt: cursorOf(current.body) };
    }
    if (current.body.expiresAt > Date.now()) return null;
    const cursor = { offset: current.body.offset, line: current.body.line };
    const taken = await this.write(
      claimKey,
      cursor,
      Date.now() + this.ttl,
      { IfMatch: current.etag },
      signal,
    );
    return taken === null ? null : { objectKey, claimKey, etag: taken, resumeAt: cursor };
  }

  /** Extends `claim` by the ttl, recording `cursor`; `false` when another worker took it over. */
  async renew(claim: HeldClaim, cursor: ObjectCursor): Promise<boolean> {
    const etag = await this.write(claim.claimKey, cursor, Date.now() + this.ttl, {
      IfMatch: claim.etag,
    });
    if (etag !== null) {
      claim.etag = etag;
      return true;
    }
    // A renewal whose answer a dropped connection lost, then repeated, still holds.
    const current = await this.read(claim.claimKey);
    if (current === null || current.body.owner !== this.owner) return false;
    claim.etag = current.etag;
    return this.renew(claim, cursor);
  }

  /**
   * Hands `claim` back for anyone to take at once: deleted when nothing of its object was
   * settled, else kept lapsed with `cursor`, so the next owner resumes there.
   */
  async giveUp(claim: HeldClaim, cursor: ObjectCursor): Promise<void> {
    if (cursor.offset === 0) {
      await this.remove(claim);
      return;
    }
    await this.write(claim.claimKey, cursor, 0, { IfMatch: claim.etag });
  }

  /** Deletes `claim` (its object is finished). */
  async remove(claim: HeldClaim): Promise<void> {
    await this.requests.run(() =>
      this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: claim.claimKey })),
    );
  }

  /** Writes a claim; its new ETag, or `null` when the condition failed. */
  private async write(
    claimKey: string,
    cursor: ObjectCursor,
    expiresAt: number,
    condition: { IfNoneMatch?: string; IfMatch?: string },
    signal?: AbortSignal,
  ): Promise<string | null> {
    const body: ClaimBody = { owner: this.owner, expiresAt, ...cursor };
    try {
      const reply = await this.requests.run(
        () =>
          this.client.send(
            new PutObjectCommand({
              Bucket: this.bucket,
              Key: claimKey,
              Body: JSON.stringify(body),
              ContentType: 'application/json',
              ...(this.conditional ? condition : {}),
            }),
          ),
        signal,
      );
      return reply.ETag ?? '';
    } catch (error) {
      if (this.conditional && lostRace(error)) return null;
      throw error;
    }
  }

  private async read(
    claimKey: string,
    signal?: AbortSignal,
  ): Promise<{ etag: string; body: ClaimBody } | null> {
    try {
      const reply = await this.requests.run(
        () => this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: claimKey })),
        signal,
      );
      const text = (await reply.Body?.transformToString()) ?? '';
      return { etag: reply.ETag ?? '', body: claimBody(text) };
    } catch (error) {
      if (notFound(error)) return null;
      throw error;
    }
  }
}
