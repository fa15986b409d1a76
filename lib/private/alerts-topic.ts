import { Stack } from 'aws-cdk-lib';
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
  // The services that publish alarms and events must be able to encrypt messages with the key.
  key.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: 'PublishersMayEncrypt',
      principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com'), new iam.ServicePrincipal('events.amazonaws.com')],
      actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
      resources: ['*'],
      conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
    }),
  );
  return new sns.Topic(holder, 'Topic', {
    displayName: 'cdk-mlops alerts',
    masterKey: key,
    enforceSSL: true,
  });
}
