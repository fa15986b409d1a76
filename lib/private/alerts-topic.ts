import { ArnFormat, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { createKey } from './kms-key';

const ALERTS_ID = 'MlOpsAlerts';

/**
 * The stack's topic for the alarms and notifications of this library: one per stack, KMS-encrypted, TLS only.
 * Subscribe people or chat tools to it; CloudWatch alarms and EventBridge rules publish to it.
 */
export function alertsTopic(scope: Construct): sns.ITopic {
  const stack = Stack.of(scope);
  const existing = stack.node.tryFindChild(ALERTS_ID)?.node.tryFindChild('Topic') as sns.ITopic | undefined;
  if (existing) return existing;

  const holder = new Construct(stack, ALERTS_ID);
  const key = createKey(holder, 'Key', 'cdk-mlops: encrypts the alerts topic of this stack');
  // The alarms of this account only (confused deputy): the same scope in the key policy and the topic policy.
  const alarmsOfThisAccount = {
    ArnLike: { 'aws:SourceArn': stack.formatArn({ service: 'cloudwatch', resource: 'alarm', resourceName: '*', arnFormat: ArnFormat.COLON_RESOURCE_NAME }) },
    StringEquals: { 'aws:SourceAccount': stack.account },
  };
  // A publisher to an encrypted topic needs the key (SNS developer guide, "Key management": encrypted topics and
  // AWS service event sources). EventBridge gets its statement from aws-cdk-lib's SnsTopic target, without source
  // conditions, which that page says a key policy does not support for EventBridge.
  key.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: 'CloudWatchAlarmsMayEncrypt',
      principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
      actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
      resources: ['*'],
      conditions: alarmsOfThisAccount,
    }),
  );
  const topic = new sns.Topic(holder, 'Topic', {
    displayName: 'cdk-mlops alerts',
    masterKey: key,
    enforceSSL: true,
  });
  // A topic policy replaces SNS's default one, which let the account's own alarms publish: say it again.
  topic.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: 'CloudWatchAlarmsMayPublish',
      principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
      actions: ['sns:Publish'],
      resources: [topic.topicArn],
      conditions: alarmsOfThisAccount,
    }),
  );
  return topic;
}
