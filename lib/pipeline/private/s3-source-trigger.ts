import { Stack, Token } from 'aws-cdk-lib';
import * as codepipeline from 'aws-cdk-lib/aws-codepipeline';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { acknowledge } from '../../private/acknowledge';
import { deadLetterAlarm, eventDeadLetterQueue, LONGEST_EVENT_RETRY } from '../../private/dead-letter-queue';
import { REASONS } from '../../private/nag-reasons';
import { MlOpsValidationError } from '../../private/validation';

/** The S3 source of a pipeline: the zip's bucket and key. */
export interface S3SourceLocation {
  readonly bucket: s3.IBucket;
  readonly objectKey: string;
}

/**
 * Starts the pipeline when a new version of the source zip is written, from S3's own EventBridge notifications
 * ("Object Created", S3 User Guide, "Using EventBridge"). aws-cdk-lib's `S3Trigger.EVENTS` matches "AWS API Call via
 * CloudTrail" events instead, which reach EventBridge only when a CloudTrail trail logs the bucket's data events
 * (CodePipeline User Guide, "Create an EventBridge rule for an Amazon S3 source"): without one, nothing starts.
 * S3's notifications need no trail and cost nothing.
 */
export function startOnNewSourceZip(scope: Construct, pipeline: codepipeline.IPipeline, source: S3SourceLocation, topic: sns.ITopic): events.Rule {
  enableEventBridge(source.bucket);
  // Starts EventBridge could not make (throttled, the role refused) wait here, and alarm.
  const deadLetters = eventDeadLetterQueue(scope, 'SourceChangedDeadLetterQueue');
  // cdk-nag recognises a dead-letter queue of SQS queues and Lambda functions, not of an EventBridge target.
  acknowledge(deadLetters, { 'AwsSolutions-SQS3': REASONS.sqs.eventTargetDeadLetterQueue });
  deadLetterAlarm(scope, 'SourceChangedDeadLetters', deadLetters,
    `A new version of s3://${source.bucket.bucketName}/${source.objectKey} did not start the pipeline: see the dead-letter ` +
    'queue\'s messages, then start the pipeline by hand (aws codepipeline start-pipeline-execution).', topic);
  return new events.Rule(scope, 'SourceChanged', {
    description: 'cdk-mlops: a new version of the source zip starts the ML pipeline',
    eventPattern: {
      source: ['aws.s3'],
      detailType: ['Object Created'],
      detail: { bucket: { name: [source.bucket.bucketName] }, object: { key: [source.objectKey] } },
    },
    targets: [new targets.CodePipeline(pipeline, { deadLetterQueue: deadLetters, ...LONGEST_EVENT_RETRY })],
  });
}

/**
 * A bucket made in this app gets its EventBridge notifications turned on (on the L1: the L2 option deploys a
 * custom-resource Lambda); an imported bucket must have them on already, as the docs of `PipelineSource.s3` say.
 */
function enableEventBridge(bucket: s3.IBucket): void {
  const resource = bucket.node.defaultChild;
  if (resource instanceof s3.CfnBucket) {
    const current = Stack.of(resource).resolve(resource.notificationConfiguration) ?? {};
    resource.notificationConfiguration = { ...current, eventBridgeConfiguration: { eventBridgeEnabled: true } };
  }
}

/** The source bucket must keep versions: the pipeline runs on, and the lineage names, the zip's version. */
export function validateVersionedSourceBucket(scope: Construct, bucket: s3.IBucket): void {
  const resource = bucket.node.defaultChild;
  if (!(resource instanceof s3.CfnBucket)) return; // imported: CodePipeline itself refuses an unversioned bucket
  const versioning = Stack.of(resource).resolve(resource.versioningConfiguration);
  const status = versioning?.status;
  if (status === undefined || (!Token.isUnresolved(status) && status !== 'Enabled')) {
    throw new MlOpsValidationError(scope, 'MlPipeline', 'source.bucket', bucket.node.path,
      'CodePipeline reads an S3 source only from a versioned bucket: give a VersionedBucket, or turn versioning on (versioned: true).');
  }
}
