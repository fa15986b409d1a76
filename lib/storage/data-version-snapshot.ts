import { Duration } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { bucketInput } from './private/bucket-input';
import { SnapshotDataVersionFunction } from '../handlers/snapshot-data-version-function';
import { acknowledgeHandler, handlerOptions } from '../private/handler-options';
import { REASONS } from '../private/nag-reasons';
import { nagResourceId } from '../private/nag-resource';
import { isConcrete, MlOpsValidationError } from '../private/validation';

/** Props for {@link DataVersionSnapshot}. */
export interface DataVersionSnapshotProps {
  /**
   * The bucket that holds the data: a `VersionedBucket`, an `s3.Bucket` or an imported `s3.IBucket` (with its key).
   * Versioning must be on (checked at synth for a bucket made in this app): the manifest names object versions.
   */
  readonly bucket: s3.IBucketRef;
  /**
   * The prefix the function may snapshot (IAM limits listing to it); the event's `prefix` must lie inside it.
   * @default '' - any prefix of the bucket
   */
  readonly dataPrefix?: string;
  /**
   * Where manifests are written, in the same bucket. Keys under it are never part of a snapshot.
   * @default 'data-versions/'
   */
  readonly manifestPrefix?: string;
  /**
   * Memory for the function. Listing is streamed, so memory does not grow with the number of objects.
   * @default Size of 1024 MiB
   */
  readonly memorySizeMiB?: number;
  /**
   * A VPC for the function (it needs the S3 gateway endpoint or NAT).
   * @default - not in a VPC: it only calls the S3 API
   */
  readonly vpc?: ec2.IVpc;
  /**
   * Subnets for the function, when `vpc` is set.
   * @default - the VPC's private subnets
   */
  readonly vpcSubnets?: ec2.SubnetSelection;
  /**
   * How long the function's logs are kept.
   * @default logs.RetentionDays.ONE_YEAR
   */
  readonly logRetention?: logs.RetentionDays;
}

/**
 * Data versions on native S3 versioning, without copying files: a Lambda function that lists the current object
 * versions under a prefix and writes a manifest (key, versionId, etag, size) whose SHA-256 is the data version
 * id. The same objects always give the same id, and a snapshot that exists already is not written again.
 *
 * Invoke it with `{ "prefix": "datasets/fraud/" }`; it returns `{ dataVersionId, manifestUri, objectCount,
 * totalBytes, created }`. Training jobs read exactly the versions the manifest lists.
 *
 * @example
 * const data = new VersionedBucket(this, 'Data');
 * const snapshot = new DataVersionSnapshot(this, 'Snapshot', { bucket: data, dataPrefix: 'datasets/' });
 * snapshot.grantInvoke(stateMachine);
 */
export class DataVersionSnapshot extends Construct {
  /** The function. */
  public readonly function: lambda.IFunction;
  /** Where manifests are written. */
  public readonly manifestPrefix: string;

  constructor(scope: Construct, id: string, props: DataVersionSnapshotProps) {
    super(scope, id);
    const dataPrefix = props.dataPrefix ?? '';
    const bucket = bucketInput(this, 'BucketInput', props.bucket, {
      construct: 'DataVersionSnapshot',
      prop: 'bucket',
      why: 'A data version is a manifest of object versions: without versioning, an overwritten file changes every version that lists it.',
    });
    this.manifestPrefix = props.manifestPrefix ?? 'data-versions/';
    validatePrefix(this, 'dataPrefix', dataPrefix, true);
    validatePrefix(this, 'manifestPrefix', this.manifestPrefix, false);
    const memorySize = props.memorySizeMiB ?? 1024;
    if (isConcrete(memorySize) && (memorySize < 128 || memorySize > 10240 || !Number.isInteger(memorySize))) {
      throw new MlOpsValidationError(this, 'DataVersionSnapshot', 'memorySizeMiB', memorySize,
        'Lambda accepts whole MiB from 128 to 10240.');
    }

    const fn = new SnapshotDataVersionFunction(this, 'Function', handlerOptions(this, {
      description: 'cdk-mlops: snapshots the object versions under an S3 prefix as a data version manifest',
      memorySize,
      // Two listing passes over a million objects take minutes: allow the Lambda maximum.
      timeout: Duration.minutes(15),
      environment: {
        DATA_BUCKET_NAME: bucket.bucketName,
        DATA_PREFIX: dataPrefix,
        MANIFEST_PREFIX: this.manifestPrefix,
      },
      vpc: props.vpc,
      vpcSubnets: props.vpcSubnets,
      logRetention: props.logRetention,
    }));
    this.function = fn;

    // Least privilege: list versions under the data prefix; list, read and write manifests only.
    bucket.grantRead(fn, dataPrefix);
    bucket.grantReadWrite(fn, this.manifestPrefix);

    const objects = (prefix: string) => nagResourceId(this, bucket.bucket.arnForObjects(`${prefix}*`));
    acknowledgeHandler(fn, props.vpc !== undefined, {
      [`AwsSolutions-IAM5[Resource::${objects(dataPrefix)}]`]:
        REASONS.s3.dataVersionObjects,
      [`AwsSolutions-IAM5[Resource::${objects(this.manifestPrefix)}]`]:
        REASONS.s3.dataVersionManifests,
      ...(bucket.encryptionKey ? {
        'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]': REASONS.kms.bucketWriteDataKeys,
        'AwsSolutions-IAM5[Action::kms:ReEncrypt*]': REASONS.kms.bucketWriteReEncrypt,
      } : {}),
    });
  }

  /** Permits the grantee to invoke the function. */
  public grantInvoke(grantee: iam.IGrantable): iam.Grant {
    return this.function.grantInvoke(grantee);
  }
}

function validatePrefix(scope: Construct, prop: string, prefix: string, mayBeEmpty: boolean): void {
  if (!isConcrete(prefix)) return;
  const bad = prefix.startsWith('/') || prefix.includes('*') || (prefix !== '' && !prefix.endsWith('/')) || (!mayBeEmpty && prefix === '');
  if (bad) {
    throw new MlOpsValidationError(scope, 'DataVersionSnapshot', prop, prefix,
      `Give a key prefix ending in "/", without a leading "/" or wildcards, for example "${mayBeEmpty ? 'datasets/' : 'data-versions/'}".`);
  }
}
