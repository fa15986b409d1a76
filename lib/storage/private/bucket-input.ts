import { Stack, Token } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { MlOpsValidationError } from '../../private/validation';
import { IVersionedBucket, VersionedBucket } from '../versioned-bucket';

/** What needs the bucket's versioning, for the message when it is off. */
export interface VersioningNeed {
  readonly construct: string;
  readonly prop: string;
  /** Why versioning is needed, one sentence. */
  readonly why: string;
}

/**
 * A bucket prop as an {@link IVersionedBucket} (see `VersionedBucket.fromBucket`). With `need`, a bucket made in this
 * app must have versioning on; an imported bucket cannot be read at synth and is taken on trust, as documented.
 */
export function bucketInput(scope: Construct, id: string, ref: s3.IBucketRef, need?: VersioningNeed): IVersionedBucket {
  // The same prop read twice (validation, then grants) gets the same wrapper.
  const existing = scope.node.tryFindChild(id) as IVersionedBucket | undefined;
  const bucket = existing ?? VersionedBucket.fromBucket(scope, id, ref);
  if (need) requireVersioning(scope, ref, need);
  return bucket;
}

/** The same as {@link bucketInput} for an optional prop. */
export function optionalBucketInput(
  scope: Construct, id: string, ref: s3.IBucketRef | undefined, need?: VersioningNeed,
): IVersionedBucket | undefined {
  return ref === undefined ? undefined : bucketInput(scope, id, ref, need);
}

/** The bucket's CloudFormation resource when this app makes it; undefined for an imported bucket. */
export function cfnBucketOf(ref: s3.IBucketRef): s3.CfnBucket | undefined {
  if (ref instanceof s3.CfnBucket) return ref;
  const l2 = (ref as Partial<IVersionedBucket>).bucket ?? ref;
  const resource = l2.node.defaultChild;
  return resource instanceof s3.CfnBucket ? resource : undefined;
}

function requireVersioning(scope: Construct, ref: s3.IBucketRef, need: VersioningNeed): void {
  const resource = cfnBucketOf(ref);
  if (!resource) return;
  const status = Stack.of(resource).resolve(resource.versioningConfiguration)?.status;
  if (status === undefined || (!Token.isUnresolved(status) && status !== 'Enabled')) {
    throw new MlOpsValidationError(scope, need.construct, need.prop, `the unversioned bucket ${resource.node.path}`,
      `${need.why} Give a VersionedBucket, or turn versioning on (s3.Bucket with versioned: true).`);
  }
}
