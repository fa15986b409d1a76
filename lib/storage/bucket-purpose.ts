import { Duration } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';

/** The lifecycle a purpose implies for noncurrent (overwritten or deleted) object versions. */
export interface NoncurrentVersionLifecycle {
  /**
   * When noncurrent versions move to a cheaper storage class.
   * @default - they stay in their storage class
   */
  readonly transitionAfter?: Duration;
  /**
   * The storage class they move to.
   * @default s3.StorageClass.GLACIER_INSTANT_RETRIEVAL
   */
  readonly storageClass?: s3.StorageClass;
  /** When noncurrent versions are deleted. */
  readonly expireAfter: Duration;
}

/**
 * What a {@link VersionedBucket} holds; it sets the default lifecycle of old versions.
 *
 * - `DATA` and `MODELS`: noncurrent versions move to Glacier Instant Retrieval after 30 days (millisecond reads,
 *   about a third of the price of S3 Standard-IA) and are deleted after 400 days, so a model trained a year ago
 *   can still be reproduced from the exact data versions it saw.
 * - `SOURCE`: zips of the code a pipeline runs on (its S3 source): kept like `MODELS`, since a model's lineage names
 *   the zip's version.
 * - `CHECKPOINTS`: noncurrent versions are deleted after 14 days: a checkpoint is overwritten many times per run
 *   and only the last one of a run matters.
 */
export class BucketPurpose {
  /** Training and evaluation data. */
  public static readonly DATA = new BucketPurpose('data', {
    transitionAfter: Duration.days(30),
    storageClass: s3.StorageClass.GLACIER_INSTANT_RETRIEVAL,
    expireAfter: Duration.days(400),
  });

  /** Model artifacts and evaluation results. */
  public static readonly MODELS = new BucketPurpose('models', {
    transitionAfter: Duration.days(30),
    storageClass: s3.StorageClass.GLACIER_INSTANT_RETRIEVAL,
    expireAfter: Duration.days(400),
  });

  /** Zips of the training and serving code, the source of a pipeline. */
  public static readonly SOURCE = new BucketPurpose('source', {
    transitionAfter: Duration.days(30),
    storageClass: s3.StorageClass.GLACIER_INSTANT_RETRIEVAL,
    expireAfter: Duration.days(400),
  });

  /** Training checkpoints, overwritten during a run. */
  public static readonly CHECKPOINTS = new BucketPurpose('checkpoints', { expireAfter: Duration.days(14) });

  /** Any other purpose, with its own lifecycle for old versions. */
  public static custom(name: string, noncurrentVersions: NoncurrentVersionLifecycle): BucketPurpose {
    return new BucketPurpose(name, noncurrentVersions);
  }

  private constructor(
    /** A short name, used in descriptions and tags. */
    public readonly name: string,
    /** The default lifecycle of noncurrent versions. */
    public readonly noncurrentVersions: NoncurrentVersionLifecycle,
  ) {}
}
