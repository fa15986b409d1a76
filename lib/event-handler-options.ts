import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';

/**
 * Options of the constructs whose function EventBridge invokes asynchronously (DataVersionTrigger, DriftMonitor,
 * ModelQualityMonitor, RetrainingTrigger): where failed events go, who is told, and where the function runs.
 */
export interface EventHandlerOptions {
  /**
   * Where events go that the function could not handle, after EventBridge's retries (up to 24 hours) or Lambda's two
   * retries of a failed invocation, to be replayed.
   * @default - a queue is created (SQS-managed encryption, TLS only, messages kept 14 days)
   */
  readonly deadLetterQueue?: sqs.IQueue;
  /**
   * Where the construct's alarms notify, the alarm on the dead-letter queue among them.
   * @default - the stack's cdk-mlops alerts topic (KMS-encrypted)
   */
  readonly alarmTopic?: sns.ITopic;
  /**
   * How long the function's logs are kept.
   * @default logs.RetentionDays.ONE_YEAR
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * A VPC for the function. It needs a route (NAT or interface endpoints) to the AWS APIs the function calls.
   * @default - not in a VPC: the function only calls AWS service APIs
   */
  readonly vpc?: ec2.IVpc;
  /**
   * Subnets for the function, when `vpc` is set.
   * @default - the VPC's private subnets
   */
  readonly vpcSubnets?: ec2.SubnetSelection;
}
