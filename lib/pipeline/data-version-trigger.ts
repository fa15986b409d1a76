import { Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as codepipeline from 'aws-cdk-lib/aws-codepipeline';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { EventHandlerOptions } from '../event-handler-options';
import { validateDataPrefix, validateMarkerSuffix } from './private/data-location';
import { StartPipelineOnDataFunction } from '../handlers/start-pipeline-on-data-function';
import { alertsTopic } from '../private/alerts-topic';
import { DATA_PREFIX_VARIABLE, DATA_TRIGGER_ENV, DEFAULT_MARKER_SUFFIX, TRIGGER_VARIABLE } from '../private/contract/data-trigger';
import { deadLetterAlarm, eventDeadLetterQueue, LONGEST_EVENT_RETRY } from '../private/dead-letter-queue';
import { acknowledgeHandler, handlerOptions } from '../private/handler-options';
import { isConcrete, MlOpsValidationError } from '../private/validation';
import { bucketInput, cfnBucketOf } from '../storage/private/bucket-input';

/** Props for {@link DataVersionTrigger}. */
export interface DataVersionTriggerProps extends EventHandlerOptions {
  /**
   * The data bucket. It must send its events to EventBridge (a VersionedBucket does, unless created with
   * `eventBridgeEnabled: false`).
   */
  readonly bucket: s3.IBucketRef;
  /** The key prefix new data versions are written under, e.g. `datasets/fraud/`. Empty: the whole bucket. */
  readonly prefix: string;
  /** The pipeline to start. */
  readonly pipeline: codepipeline.IPipeline;
  /**
   * The pipeline variable (declared by the pipeline) that receives the new data version's location: the marker's
   * folder, e.g. `datasets/fraud/2026-11-23/` for the marker `datasets/fraud/2026-11-23/_SUCCESS`.
   * @default 'DATA_PREFIX'
   */
  readonly variableName?: string;
  /**
   * A pipeline variable (declared by the pipeline) that records why the run started: `data:<marker key>`. MlPipeline
   * declares `TRIGGER` and sets this; a pipeline that declares no such variable must leave it out (StartPipelineExecution
   * refuses a variable the pipeline does not declare).
   * @default - no trigger variable is set
   */
  readonly triggerVariableName?: string;
  /**
   * The key suffix of the object that marks a complete data version. A marker, not every data file, or each file of
   * an upload would start a run.
   * @default '_SUCCESS'
   */
  readonly markerSuffix?: string;
}

/** CodePipeline's rule for a variable name. */
const VARIABLE_NAME = /^[A-Za-z0-9@\-_]{1,128}$/;

/**
 * Starts a pipeline when a complete new data version lands, with the data's location in a pipeline variable.
 *
 * An EventBridge rule matches S3 "Object Created" events of marker objects (`<prefix>*<markerSuffix>`) and invokes a
 * small function that calls StartPipelineExecution with the variable set to the marker's folder. (EventBridge's
 * CodePipeline target starts a run but cannot set variables.) Each marker object version starts one run: the call's
 * idempotency token is derived from it, so retries never start two. Events that still fail (after 24 hours of
 * EventBridge retries, or Lambda's two retries) land in a dead-letter queue; an alarm tells when it holds any.
 *
 * @example
 * new DataVersionTrigger(this, 'OnNewData', { bucket: data, prefix: 'datasets/fraud/', pipeline: mlPipeline.pipeline });
 * // Write the data under datasets/fraud/2026-11-23/, then datasets/fraud/2026-11-23/_SUCCESS: one run trains on it.
 */
export class DataVersionTrigger extends Construct {
  /** The EventBridge rule on the marker objects. */
  public readonly rule: events.Rule;
  /** The function that starts the pipeline. */
  public readonly function: lambda.IFunction;
  /** Events that could not start a run. */
  public readonly deadLetterQueue: sqs.IQueue;
  /** In alarm when the dead-letter queue holds events. */
  public readonly deadLetterAlarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: DataVersionTriggerProps) {
    super(scope, id);
    const variableName = props.variableName ?? DATA_PREFIX_VARIABLE;
    const markerSuffix = props.markerSuffix ?? DEFAULT_MARKER_SUFFIX;
    this.validate(props, variableName, markerSuffix);
    const bucket = bucketInput(this, 'BucketInput', props.bucket);
    const environment: Record<string, string> = {
      [DATA_TRIGGER_ENV.bucket]: bucket.bucketName,
      [DATA_TRIGGER_ENV.prefix]: props.prefix,
      [DATA_TRIGGER_ENV.markerSuffix]: markerSuffix,
      [DATA_TRIGGER_ENV.pipelineName]: props.pipeline.pipelineName,
      [DATA_TRIGGER_ENV.variableName]: variableName,
    };
    if (props.triggerVariableName !== undefined) environment[DATA_TRIGGER_ENV.triggerVariable] = props.triggerVariableName;

    this.deadLetterQueue = props.deadLetterQueue ?? eventDeadLetterQueue(this, 'DeadLetterQueue');

    const fn = new StartPipelineOnDataFunction(this, 'Function', {
      ...handlerOptions(this, {
        description: 'cdk-mlops: starts the ML pipeline on a new data version, with its location as a pipeline variable',
        memorySize: 256,
        timeout: Duration.seconds(30),
        environment,
        logRetention: props.logRetention,
        vpc: props.vpc,
        vpcSubnets: props.vpcSubnets,
      }),
      // Lambda retries a failed asynchronous event twice (its default), then sends it here.
      deadLetterQueue: this.deadLetterQueue,
    });
    fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['codepipeline:StartPipelineExecution'], resources: [props.pipeline.pipelineArn] }));
    acknowledgeHandler(fn, props.vpc !== undefined, {}, true);
    this.function = fn;

    this.rule = new events.Rule(this, 'Rule', {
      description: 'cdk-mlops: a complete new data version starts the ML pipeline',
      eventPattern: {
        source: ['aws.s3'],
        detailType: ['Object Created'],
        detail: {
          bucket: { name: [bucket.bucketName] },
          object: { key: [{ wildcard: `${props.prefix}*${markerSuffix}` }] },
        },
      },
      targets: [new targets.LambdaFunction(fn, {
        deadLetterQueue: this.deadLetterQueue,
        ...LONGEST_EVENT_RETRY,
      })],
    });

    this.deadLetterAlarm = deadLetterAlarm(this, 'DeadLetters', this.deadLetterQueue,
      `New data versions of s3://${bucket.bucketName}/${props.prefix} did not start the pipeline: ` +
        'see the dead-letter queue\'s messages and the function\'s logs, then start the pipeline by hand.',
      props.alarmTopic ?? alertsTopic(this));
  }

  private validate(props: DataVersionTriggerProps, variableName: string, markerSuffix: string): void {
    validateDataPrefix(this, 'DataVersionTrigger', 'prefix', props.prefix);
    validateMarkerSuffix(this, 'DataVersionTrigger', 'markerSuffix', markerSuffix);
    const names: Array<[string, string | undefined]> = [['variableName', variableName], ['triggerVariableName', props.triggerVariableName]];
    for (const [prop, name] of names) {
      if (name !== undefined && isConcrete(name) && !VARIABLE_NAME.test(name)) {
        throw new MlOpsValidationError(this, 'DataVersionTrigger', prop, name,
          `Give the name of a variable the pipeline declares (e.g. '${prop === 'variableName' ? DATA_PREFIX_VARIABLE : TRIGGER_VARIABLE}'): ` +
          '1-128 letters, digits, "@", "-" or "_".');
      }
    }
    if (props.triggerVariableName !== undefined && props.triggerVariableName === variableName) {
      throw new MlOpsValidationError(this, 'DataVersionTrigger', 'triggerVariableName', props.triggerVariableName,
        `Give a variable other than variableName ('${variableName}'): one holds the data prefix, the other why the run started.`);
    }
    // The function starts the pipeline by name, in its own region.
    const region = Stack.of(this).region;
    const pipelineRegion = props.pipeline.env.region;
    if (isConcrete(region) && isConcrete(pipelineRegion) && region !== pipelineRegion) {
      throw new MlOpsValidationError(this, 'DataVersionTrigger', 'pipeline', pipelineRegion,
        `Put the trigger in the pipeline's region (${pipelineRegion}), not ${region}: it starts the pipeline by name in its own region.`);
    }
    this.validateDeclared(props.pipeline, names);
    this.validateEventBridge(props.bucket);
  }

  /** The rule matches EventBridge's "Object Created" events: a bucket of this app that does not send them never starts a run. */
  private validateEventBridge(bucket: s3.IBucketRef): void {
    const cfn = cfnBucketOf(bucket);
    if (!cfn) return; // imported: its notification settings are not known
    this.node.addValidation({
      validate: () => {
        const config = Stack.of(cfn).resolve(cfn.notificationConfiguration);
        if (config?.eventBridgeConfiguration?.eventBridgeEnabled === true) return [];
        return [new MlOpsValidationError(this, 'DataVersionTrigger', 'bucket', bucket.node.path, 'The bucket does not send its ' +
          'events to EventBridge, so no new data version would ever start the pipeline: create the VersionedBucket without ' +
          'eventBridgeEnabled: false (an s3.Bucket with eventBridgeEnabled: true).').message];
      },
    });
  }

  /**
   * StartPipelineExecution refuses a variable the pipeline does not declare, so every new data version would fail.
   * Checked at synth, when every variable is added, and only for a pipeline of this app (an import declares nothing known).
   */
  private validateDeclared(pipeline: codepipeline.IPipeline, names: Array<[string, string | undefined]>): void {
    if (!(pipeline instanceof codepipeline.Pipeline)) return;
    this.node.addValidation({
      validate: () => {
        const cfn = pipeline.node.defaultChild as codepipeline.CfnPipeline;
        const declared = ((Stack.of(pipeline).resolve(cfn.variables) ?? []) as Array<{ name?: unknown }>).map((v) => v.name);
        if (declared.some((n) => typeof n !== 'string')) return [];
        return names
          .filter(([, name]) => name !== undefined && isConcrete(name) && !declared.includes(name))
          .map(([prop, name]) => new MlOpsValidationError(this, 'DataVersionTrigger', prop, name,
            `The pipeline ${pipeline.node.path} does not declare it (it declares ${declared.length ? declared.map((n) => `'${n}'`).join(', ') : 'no variable'}), ` +
            'and CodePipeline refuses to start an execution with an undeclared variable: declare it on the pipeline (variables / ' +
            'addVariable), or give a declared name.').message);
      },
    });
  }
}
