import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as cxapi from 'aws-cdk-lib/cx-api';
import { Construct } from 'constructs';
import { acknowledge, exemptFromControlTower } from '../private/acknowledge';
import { inCompliancePacks } from '../private/common-findings';
import { REASONS } from '../private/nag-reasons';

const ACCESS_LOGS_ID = 'MlOpsAccessLogs';

/**
 * The stack's bucket for S3 server access logs of the buckets this library creates: one per stack, not one per
 * bucket. It has no Object Lock (S3 cannot deliver logs to a bucket with Object Lock) and uses SSE-S3 (S3 log
 * delivery does not support SSE-KMS target buckets).
 */
export function accessLogsBucket(scope: Construct): s3.IBucket {
  const stack = Stack.of(scope);
  const existing = stack.node.tryFindChild(ACCESS_LOGS_ID)?.node.tryFindChild('Bucket') as s3.IBucket | undefined;
  if (existing) return existing;

  // Log delivery through a bucket policy, not the legacy LogDeliveryWrite ACL, whatever the app's feature flags.
  const holder = new Construct(stack, ACCESS_LOGS_ID);
  holder.node.setContext(cxapi.S3_SERVER_ACCESS_LOGS_USE_BUCKET_POLICY, true);
  const bucket = new s3.Bucket(holder, 'Bucket', {
    encryption: s3.BucketEncryption.S3_MANAGED,
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
    enforceSSL: true,
    versioned: true,
    removalPolicy: RemovalPolicy.RETAIN,
    lifecycleRules: [
      {
        id: 'expire-access-logs',
        expiration: Duration.days(400),
        noncurrentVersionExpiration: Duration.days(30),
        abortIncompleteMultipartUploadAfter: Duration.days(7),
      },
    ],
  });

  const resource = bucket.node.defaultChild as s3.CfnBucket;
  resource.notificationConfiguration = { eventBridgeConfiguration: { eventBridgeEnabled: true } };
  exemptFromControlTower(resource, {
    s3_bucket_default_encryption_kms_check: REASONS.s3.accessLogsSseS3,
    s3_bucket_logging_enabled_check: REASONS.s3.accessLogsBucketLogging,
    s3_bucket_object_lock_enabled_check: REASONS.s3.accessLogsNoObjectLock,
  });
  acknowledge(resource, {
    'AwsSolutions-S1': REASONS.s3.accessLogsBucketLogging,
    ...inCompliancePacks('S3BucketLoggingEnabled', REASONS.s3.accessLogsBucketLogging),
    ...inCompliancePacks('S3BucketReplicationEnabled', REASONS.s3.accessLogsReplication),
    ...inCompliancePacks('S3DefaultEncryptionKMS', REASONS.s3.accessLogsSseS3),
  });
  return bucket;
}
