import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { createKey, prepareKeyOnce } from './kms-key';

const LOGS_KEY_ID = 'MlOpsLogsKey';

/**
 * The key of the log groups this library creates: the stack's key (`MlOpsKeys`), or with per-purpose keys one key
 * for the stack's log groups (a key per log group would cost $1/month each while idle). CloudWatch Logs of this
 * account and region may use it for log groups, by encryption context, and nothing else.
 */
export function logsKey(scope: Construct): kms.IKey {
  const stack = Stack.of(scope);
  const key = (stack.node.tryFindChild(LOGS_KEY_ID) as kms.IKey | undefined) ??
    createKey(stack, LOGS_KEY_ID, 'cdk-mlops: encrypts the CloudWatch log groups of this stack');
  // CloudWatch Logs developer guide, "Encrypt log data in CloudWatch Logs using AWS KMS": the service principal of the
  // region, with the log group ARN as encryption context.
  prepareKeyOnce(key, 'logs', () => key.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: 'CloudWatchLogsMayUseForLogGroups',
      principals: [new iam.ServicePrincipal(`logs.${stack.region}.amazonaws.com`)],
      actions: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
      resources: ['*'],
      conditions: {
        ArnLike: { 'kms:EncryptionContext:aws:logs:arn': `arn:${stack.partition}:logs:${stack.region}:${stack.account}:*` },
      },
    }),
  ));
  return key;
}

export interface EncryptedLogGroupOptions {
  readonly retention?: logs.RetentionDays;
  readonly encryptionKey?: kms.IKey;
}

/** A log group encrypted with KMS, with a retention, kept on `cdk destroy` (logs are evidence). */
export function encryptedLogGroup(scope: Construct, id: string, options: EncryptedLogGroupOptions = {}): logs.LogGroup {
  return new logs.LogGroup(scope, id, {
    encryptionKey: options.encryptionKey ?? logsKey(scope),
    retention: options.retention ?? logs.RetentionDays.ONE_YEAR,
    removalPolicy: RemovalPolicy.RETAIN,
  });
}
