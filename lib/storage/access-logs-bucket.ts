import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as cxapi from 'aws-cdk-lib/cx-api';
import { Construct } from 'constructs';
import { acknowledge, exemptFromControlTower } from '../private/acknowledge';

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
    s3_bucket_default_encryption_kms_check: 'S3 server access log delivery supports only SSE-S3 (AES-256) on the target bucket.',
    s3_bucket_logging_enabled_check: 'This is the access-log bucket: logging its accesses into itself would loop.',
    s3_bucket_object_lock_enabled_check: 'S3 cannot deliver server access logs to a bucket with Object Lock.',
  });
  const replication = 'Access logs are audit records of this region; replicate them with your organization\'s log archive.';
  const sseS3 = 'S3 server access log delivery supports only SSE-S3 (AES-256) on the target bucket, not SSE-KMS.';
  acknowledge(resource, {
    'AwsSolutions-S1': 'This is the access-log bucket: logging its own accesses into itself would loop.',
    'HIPAA.Security-S3BucketLoggingEnabled': 'This is the access-log bucket: logging into itself would loop.',
    'NIST.800.53.R5-S3BucketLoggingEnabled': 'This is the access-log bucket: logging into itself would loop.',
    'PCI.DSS.321-S3BucketLoggingEnabled': 'This is the access-log bucket: logging into itself would loop.',
    'HIPAA.Security-S3BucketReplicationEnabled': replication,
    'NIST.800.53.R5-S3BucketReplicationEnabled': replication,
    'PCI.DSS.321-S3BucketReplicationEnabled': replication,
    'HIPAA.Security-S3DefaultEncryptionKMS': sseS3,
    'NIST.800.53.R5-S3DefaultEncryptionKMS': sseS3,
    'PCI.DSS.321-S3DefaultEncryptionKMS': sseS3,
  });
  return bucket;
}
