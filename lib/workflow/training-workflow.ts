import * as crypto from 'crypto';
import { Duration, Stack, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { QualityGateRules, renderGateRules } from './quality-gate-rules';
import { ContainerContract } from '../compute/container-contract';
import { JobKind, MlJobDefinition } from '../compute/ml-job-definition';
import { AggregateMetricsFunction } from '../handlers/aggregate-metrics-function';
import { QualityGateFunction } from '../handlers/quality-gate-function';
import { RegisterModelFunction } from '../handlers/register-model-function';
import { TrainingCacheFunction } from '../handlers/training-cache-function';
import { acknowledge } from '../private/acknowledge';
import { INLINE_ROLE_POLICY } from '../private/common-findings';
import { acknowledgeHandler, handlerOptions } from '../private/handler-options';
import { encryptedLogGroup } from '../private/log-group';
import { nagResourceId } from '../private/nag-resource';
import { isConcrete, MlOpsValidationError } from '../private/validation';
import { LatestApprovedModelLookup } from '../registry/latest-approved-model-lookup';
import { IModelPackageGroup } from '../registry/model-package-group';
import { DataVersionSnapshot } from '../storage/data-version-snapshot';
import { IVersionedBucket } from '../storage/versioned-bucket';

/** One approach to train and judge. */
export interface TrainingCandidate {
  /** A short name: 1-40 lowercase letters, digits and hyphens. It names jobs, S3 prefixes and the lineage. */
  readonly name: string;
  /** The training job definition (all candidates train on the same queue). */
  readonly trainingJob: MlJobDefinition;
  /**
   * Hyperparameters, given to the job as the JSON object `MLOPS_HYPERPARAMETERS`.
   * @default - none
   */
  readonly hyperparameters?: { [name: string]: string };
}

/** The approval status a registered winner gets. */
export enum ModelApprovalStatus {
  /** A person (or the pipeline's approval stage) approves it. */
  PENDING_MANUAL_APPROVAL = 'PendingManualApproval',
  /** Approved at once: the gate is the approval. */
  APPROVED = 'Approved',
}

/** Props for {@link TrainingWorkflow}. */
export interface TrainingWorkflowProps {
  /** The approaches to train in parallel; at least one, at most 40, with distinct names. */
  readonly candidates: TrainingCandidate[];
  /** The evaluation job (one yardstick for every candidate), an array job with one child per shard. */
  readonly evaluationJob: MlJobDefinition;
  /** Where the winner is registered, and where the champion and the training cache are looked up. */
  readonly modelPackageGroup: IModelPackageGroup;
  /** The gate's rules. */
  readonly gate: QualityGateRules;
  /** Holds the data; `MLOPS_DATA_URI` points into it. */
  readonly dataBucket: IVersionedBucket;
  /** Receives the models (`runs/<execution>/<candidate>/`) and evaluations (`evaluations/<execution>/<candidate>/`). */
  readonly modelBucket: IVersionedBucket;
  /** Receives the checkpoints (`runs/<execution>/<candidate>/`), the same for every attempt of a job. */
  readonly checkpointBucket: IVersionedBucket;
  /**
   * The image recorded in the model package for inference. The pipeline later bakes the model and the serving code
   * into one image; this is the serving base image the package starts from.
   */
  readonly inferenceImageUri: string;
  /**
   * Takes the data version when the execution input has none (`{ "dataPrefix": "datasets/fraud/" }`).
   * @default - the input must carry `dataVersion`
   */
  readonly dataSnapshot?: DataVersionSnapshot;
  /**
   * The approval status of a registered winner.
   * @default ModelApprovalStatus.PENDING_MANUAL_APPROVAL
   */
  readonly approvalStatus?: ModelApprovalStatus;
  /**
   * How many candidates train at once.
   * @default - all of them
   */
  readonly maxConcurrency?: number;
  /**
   * The longest an execution may run.
   * @default Duration.hours(48)
   */
  readonly timeout?: Duration;
  /**
   * How long the execution logs are kept.
   * @default logs.RetentionDays.ONE_YEAR
   */
  readonly logRetention?: logs.RetentionDays;
}

const CANDIDATE_NAME = /^[a-z0-9](-?[a-z0-9]){0,39}$/;

/**
 * Trains several candidates in parallel on spot GPUs, evaluates each as an array job on spot CPUs, gates them on
 * performance, fairness, latency and the champion in production, and registers the winner with its lineage. A
 * Step Functions standard state machine, with all events logged to an encrypted log group and X-Ray tracing.
 *
 * Start an execution with:
 * `{ "codeVersion": "<commit>", "dataVersion": { "dataVersionId": "...", "manifestUri": "s3://...", "prefix": "datasets/x/" } }`
 * or, with `dataSnapshot`, `{ "codeVersion": "<commit>", "dataPrefix": "datasets/x/" }`.
 *
 * - Training cache: a candidate whose (data version, code version, configuration) already has a model package is
 *   not trained again: a change to serving code alone costs no GPU minute.
 * - Spot: Batch retries reclaimed attempts (RetryPolicy); a job that spot could not finish (reclaimed on its last
 *   attempt, or cancelled after waiting for capacity) is trained again on the on-demand queue; a code error fails
 *   that candidate only, the others go on.
 * - No winner: the execution fails with error `QualityGateFailed` and every reason in the cause.
 *
 * @example
 * new TrainingWorkflow(this, 'Training', {
 *   candidates: [{ name: 'xgb', trainingJob: xgb }, { name: 'mlp', trainingJob: mlp, hyperparameters: { lr: '0.001' } }],
 *   evaluationJob: evaluate,
 *   modelPackageGroup: models, dataBucket: data, modelBucket: artifacts, checkpointBucket: checkpoints,
 *   inferenceImageUri: servingBaseImage,
 *   gate: { primaryMetric: 'auc', thresholds: [{ metric: 'auc', min: 0.8 }], fairness: [{ metric: 'auc', maxGap: 0.05 }] },
 * });
 */
export class TrainingWorkflow extends Construct {
  /** The state machine. */
  public readonly stateMachine: sfn.StateMachine;
  /** The execution log group. */
  public readonly logGroup: logs.ILogGroup;

  constructor(scope: Construct, id: string, props: TrainingWorkflowProps) {
    super(scope, id);
    this.validate(props);
    const gateRules = renderGateRules(this, props.gate);
    const trainingQueue = props.candidates[0].trainingJob.queue;
    const evaluation = props.evaluationJob;

    const functions = this.createFunctions(props, gateRules);
    this.grantJobAccess(props);

    const definition = this.definition(props, functions, trainingQueue.jobQueue.jobQueueArn,
      trainingQueue.onDemandJobQueue?.jobQueueArn, evaluation);

    this.logGroup = encryptedLogGroup(this, 'Logs', { retention: props.logRetention });
    this.stateMachine = new sfn.StateMachine(this, 'Resource', {
      definitionBody: sfn.DefinitionBody.fromChainable(definition),
      stateMachineType: sfn.StateMachineType.STANDARD,
      timeout: props.timeout ?? Duration.hours(48),
      tracingEnabled: true,
      logs: { destination: this.logGroup, level: sfn.LogLevel.ALL, includeExecutionData: true },
    });
    this.acknowledgeStateMachineRole(functions);
  }

  /** Permits the grantee to start executions. */
  public grantStartExecution(grantee: iam.IGrantable): iam.Grant {
    return this.stateMachine.grantStartExecution(grantee);
  }

  /** Executions that failed (including "no candidate passed the gate"). */
  public metricFailed(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.stateMachine.metricFailed(props);
  }

  /** Executions that succeeded. */
  public metricSucceeded(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.stateMachine.metricSucceeded(props);
  }

  private validate(props: TrainingWorkflowProps): void {
    const fail = (prop: string, value: unknown, fix: string) => {
      throw new MlOpsValidationError(this, 'TrainingWorkflow', prop, value, fix);
    };
    if (props.candidates.length === 0 || props.candidates.length > 40) {
      fail('candidates', `${props.candidates.length} candidates`, 'Give 1 to 40 candidates.');
    }
    const seen = new Set<string>();
    props.candidates.forEach((c, i) => {
      if (!CANDIDATE_NAME.test(c.name)) {
        fail(`candidates[${i}].name`, c.name, 'Use 1-40 lowercase letters, digits and single hyphens (for example "xgb-depth6").');
      }
      if (seen.has(c.name)) fail(`candidates[${i}].name`, c.name, 'Candidate names must be distinct: they name jobs and S3 prefixes.');
      seen.add(c.name);
      if (c.trainingJob.kind !== JobKind.TRAINING) {
        fail(`candidates[${i}].trainingJob`, c.trainingJob.node.path, 'Give a training job definition (MlJobDefinition.training).');
      }
      if (c.trainingJob.queue !== props.candidates[0].trainingJob.queue) {
        fail(`candidates[${i}].trainingJob`, c.trainingJob.node.path,
          `All candidates train on one queue (${props.candidates[0].trainingJob.queue.node.path}): the state machine may submit only to it.`);
      }
    });
    if (props.evaluationJob.kind !== JobKind.EVALUATION) {
      fail('evaluationJob', props.evaluationJob.node.path, 'Give an evaluation job definition (MlJobDefinition.evaluation).');
    }
    const concurrency = props.maxConcurrency;
    if (concurrency !== undefined && isConcrete(concurrency) && (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 40)) {
      fail('maxConcurrency', concurrency, 'Give a whole number from 1 to 40 (at most the number of candidates is useful).');
    }
    if (props.timeout && !Token.isUnresolved(props.timeout.toSeconds()) &&
      (props.timeout.toSeconds() < 60 || props.timeout.toSeconds() > 365 * 24 * 3600)) {
      fail('timeout', props.timeout.toHumanString(), 'A standard state machine runs from 1 minute up to one year.');
    }
    if (isConcrete(props.inferenceImageUri) && !/^[a-z0-9.-]+(:\d+)?\/[a-z0-9._\/-]+(:[\w.-]+|@sha256:[a-f0-9]{64})$/.test(props.inferenceImageUri)) {
      fail('inferenceImageUri', props.inferenceImageUri, 'Give a full image URI with a tag or digest, e.g. 123456789012.dkr.ecr.eu-west-1.amazonaws.com/serving@sha256:...');
    }
  }

  private createFunctions(props: TrainingWorkflowProps, gateRules: string) {
    const group = props.modelPackageGroup;
    const handler = (id: string, description: string, memorySize: number, timeout: Duration, environment: Record<string, string>) => ({
      description, memorySize, timeout, environment, logGroupId: `${id}Logs`,
    });

    const cache = new TrainingCacheFunction(this, 'TrainingCache', handlerOptions(this,
      handler('TrainingCache', 'cdk-mlops: finds a model package already trained on the same data, code and configuration', 256, Duration.minutes(1),
        { MODEL_PACKAGE_GROUP_NAME: group.modelPackageGroupName })));
    group.grantRead(cache);
    // A cache hit reads the evaluation aggregate back, for the gate's fairness and latency rules.
    props.modelBucket.grantRead(cache, 'evaluations/');

    const aggregate = new AggregateMetricsFunction(this, 'AggregateMetrics', handlerOptions(this,
      handler('AggregateMetrics', 'cdk-mlops: validates and aggregates the metrics of a candidate\'s evaluation shards', 512, Duration.minutes(5), {})));
    props.modelBucket.grantRead(aggregate, 'runs/');
    props.modelBucket.grantReadWrite(aggregate, 'evaluations/');

    const gate = new QualityGateFunction(this, 'QualityGate', handlerOptions(this,
      handler('QualityGate', 'cdk-mlops: judges the candidates against the quality gate rules and the champion', 256, Duration.minutes(1),
        { GATE_RULES: gateRules })));

    const register = new RegisterModelFunction(this, 'RegisterModel', handlerOptions(this,
      handler('RegisterModel', 'cdk-mlops: registers the winning candidate as a model package with its lineage', 256, Duration.minutes(1), {
        MODEL_PACKAGE_GROUP_NAME: group.modelPackageGroupName,
        APPROVAL_STATUS: props.approvalStatus ?? ModelApprovalStatus.PENDING_MANUAL_APPROVAL,
        INFERENCE_IMAGE_URI: props.inferenceImageUri,
      })));
    group.grantRead(register);
    group.grantRegister(register);

    const champion = new LatestApprovedModelLookup(this, 'Champion', { modelPackageGroup: group });

    const packages = `AwsSolutions-IAM5[Resource::${nagResourceId(this, group.modelPackagesArn)}]`;
    const listReason = 'sagemaker:ListModelPackages has no resource-level permissions (IAM accepts only "*"), nor have X-Ray\'s ' +
      'PutTraceSegments / PutTelemetryRecords (tracing).';
    acknowledgeHandler(cache, false, {
      'AwsSolutions-IAM5[Resource::*]': listReason,
      [packages]: 'Reads the model packages (versions) of this one group: the wildcard is the version number.',
      [`AwsSolutions-IAM5[Resource::${nagResourceId(this, props.modelBucket.bucket.arnForObjects('evaluations/*'))}]`]:
        'Reads the evaluation aggregate of a cached model under evaluations/ (one prefix per execution and candidate).',
    });
    acknowledgeHandler(register, false, {
      'AwsSolutions-IAM5[Resource::*]': listReason,
      [packages]: 'Registers and reads model packages (versions) of this one group: the wildcard is the version number.',
    });
    const objects = (prefix: string) => `AwsSolutions-IAM5[Resource::${nagResourceId(this, props.modelBucket.bucket.arnForObjects(`${prefix}*`))}]`;
    acknowledgeHandler(aggregate, false, {
      [objects('runs/')]: 'Reads the metrics.json of the training runs under runs/ (one prefix per execution and candidate).',
      [objects('evaluations/')]: 'Reads the shard metrics and writes the aggregate under evaluations/ (one prefix per execution and candidate).',
      'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]': 'SSE-KMS data keys to write the aggregate, with the model bucket\'s key only.',
      'AwsSolutions-IAM5[Action::kms:ReEncrypt*]': 'Granted with kms:Encrypt by aws-cdk-lib, on the model bucket\'s key only.',
    });
    acknowledgeHandler(gate, false, {});

    return { cache, aggregate, gate, register, champion: champion.function as lambda.Function, snapshot: props.dataSnapshot };
  }

  /** The prefixes the workflow's layout needs, granted to the job roles (nothing else). */
  private grantJobAccess(props: TrainingWorkflowProps): void {
    const grants: Array<[MlJobDefinition, IVersionedBucket, string, 'read' | 'readWrite']> = [];
    for (const c of props.candidates) {
      grants.push([c.trainingJob, props.modelBucket, 'runs/', 'readWrite'], [c.trainingJob, props.checkpointBucket, 'runs/', 'readWrite']);
    }
    grants.push([props.evaluationJob, props.modelBucket, 'runs/', 'read'], [props.evaluationJob, props.modelBucket, 'evaluations/', 'readWrite']);
    const done = new Set<string>();
    for (const [job, bucket, prefix, access] of grants) {
      const key = `${job.node.addr}/${bucket.node.addr}/${prefix}/${access}`;
      if (done.has(key)) continue;
      done.add(key);
      if (access === 'read') bucket.grantRead(job, prefix);
      else bucket.grantReadWrite(job, prefix);
      const policy = job.jobRole.node.tryFindChild('DefaultPolicy');
      if (policy) {
        acknowledge(policy, {
          [`AwsSolutions-IAM5[Resource::${nagResourceId(this, bucket.bucket.arnForObjects(`${prefix}*`))}]`]:
            `The training workflow's layout: jobs ${access === 'read' ? 'read' : 'write'} under ${prefix}<execution>/<candidate>/.`,
          ...(access === 'readWrite' && bucket.encryptionKey ? {
            'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]': 'SSE-KMS data keys for the objects the job writes, with that bucket\'s key only.',
            'AwsSolutions-IAM5[Action::kms:ReEncrypt*]': 'Granted with kms:Encrypt by aws-cdk-lib, on that bucket\'s key only.',
          } : {}),
          ...INLINE_ROLE_POLICY,
        });
      }
    }
  }

  private definition(
    props: TrainingWorkflowProps,
    fns: ReturnType<TrainingWorkflow['createFunctions']>,
    spotQueueArn: string,
    onDemandQueueArn: string | undefined,
    evaluation: MlJobDefinition,
  ): sfn.IChainable {
    const models = props.modelBucket.bucketName;
    const checkpoints = props.checkpointBucket.bucketName;
    const data = props.dataBucket.bucketName;

    // 1. The data version: given, or taken now.
    const candidates = new sfn.Pass(this, 'Candidates', {
      result: sfn.Result.fromArray(props.candidates.map((c) => ({
        name: c.name,
        configHash: configHash(c),
        trainingJobDefinition: c.trainingJob.jobDefinitionArn,
        hyperparameters: JSON.stringify(sortedObject(c.hyperparameters ?? {})),
      }))),
      resultPath: '$.candidates',
    });
    let start: sfn.IChainable = candidates;
    if (fns.snapshot) {
      const snapshot = new tasks.LambdaInvoke(this, 'Take data version', {
        lambdaFunction: fns.snapshot.function,
        payload: sfn.TaskInput.fromObject({ 'prefix.$': '$.dataPrefix' }),
        payloadResponseOnly: true,
        resultSelector: { 'dataVersionId.$': '$.dataVersionId', 'manifestUri.$': '$.manifestUri', 'prefix.$': '$.prefix' },
        resultPath: '$.dataVersion',
      });
      start = new sfn.Choice(this, 'Data version given?')
        .when(sfn.Condition.isPresent('$.dataVersion'), candidates)
        .otherwise(snapshot.next(candidates));
    }

    // 2. Each candidate: cache, train (spot, then on-demand), evaluate, aggregate.
    const outcome = (name: string, fields: Record<string, string>) => new sfn.Pass(this, name, {
      parameters: { 'candidate.$': '$.candidate.name', 'configHash.$': '$.candidate.configHash', ...fields },
    });
    const trainingFailed = outcome('Training failed', { 'status': 'FAILED', 'failure.$': '$.error.Cause' });
    const evaluationFailed = outcome('Evaluation failed', { 'status': 'FAILED', 'failure.$': '$.error.Cause' });

    const checkCache = new tasks.LambdaInvoke(this, 'Check training cache', {
      lambdaFunction: fns.cache,
      payload: sfn.TaskInput.fromObject({
        'candidate.$': '$.candidate.name',
        'configHash.$': '$.candidate.configHash',
        'codeVersion.$': '$.codeVersion',
        'dataVersionId.$': '$.dataVersion.dataVersionId',
      }),
      payloadResponseOnly: true,
      resultPath: '$.cache',
    });
    const reuse = new sfn.Pass(this, 'Reuse cached model', { outputPath: '$.cache.outcome' });

    const trainingEnvironment = {
      [ContainerContract.DATA_URI]: sfn.JsonPath.format(`s3://${data}/{}`, sfn.JsonPath.stringAt('$.dataVersion.prefix')),
      [ContainerContract.DATA_VERSION]: sfn.JsonPath.stringAt('$.dataVersion.dataVersionId'),
      [ContainerContract.OUTPUT_URI]: sfn.JsonPath.stringAt('$.trainingOutputUri'),
      [ContainerContract.CHECKPOINT_URI]: sfn.JsonPath.stringAt('$.checkpointUri'),
      [ContainerContract.CANDIDATE]: sfn.JsonPath.stringAt('$.candidate.name'),
      [ContainerContract.HYPERPARAMETERS]: sfn.JsonPath.stringAt('$.candidate.hyperparameters'),
      [ContainerContract.CODE_VERSION]: sfn.JsonPath.stringAt('$.codeVersion'),
    };
    const submitTraining = (name: string, queueArn: string) => new tasks.BatchSubmitJob(this, name, {
      jobName: sfn.JsonPath.format('{}-train', sfn.JsonPath.stringAt('$.candidate.name')),
      jobDefinitionArn: sfn.JsonPath.stringAt('$.candidate.trainingJobDefinition'),
      jobQueueArn: queueArn,
      containerOverrides: { environment: trainingEnvironment },
      integrationPattern: sfn.IntegrationPattern.RUN_JOB,
      resultSelector: { 'jobId.$': '$.JobId' },
      resultPath: '$.training',
    });
    const trainOnSpot = submitTraining('Train on spot', spotQueueArn);

    const evaluate = new tasks.BatchSubmitJob(this, 'Evaluate', {
      jobName: sfn.JsonPath.format('{}-evaluate', sfn.JsonPath.stringAt('$.candidate.name')),
      jobDefinitionArn: evaluation.jobDefinitionArn,
      jobQueueArn: evaluation.queue.jobQueue.jobQueueArn,
      arraySize: evaluation.shards > 1 ? evaluation.shards : undefined,
      containerOverrides: {
        environment: {
          [ContainerContract.DATA_URI]: trainingEnvironment[ContainerContract.DATA_URI],
          [ContainerContract.DATA_VERSION]: trainingEnvironment[ContainerContract.DATA_VERSION],
          [ContainerContract.MODEL_URI]: sfn.JsonPath.format('{}model.tar.gz', sfn.JsonPath.stringAt('$.trainingOutputUri')),
          [ContainerContract.OUTPUT_URI]: sfn.JsonPath.stringAt('$.evaluationOutputUri'),
          [ContainerContract.CANDIDATE]: sfn.JsonPath.stringAt('$.candidate.name'),
          [ContainerContract.CODE_VERSION]: sfn.JsonPath.stringAt('$.codeVersion'),
        },
      },
      integrationPattern: sfn.IntegrationPattern.RUN_JOB,
      resultSelector: { 'jobId.$': '$.JobId' },
      resultPath: '$.evaluation',
    });
    evaluate.addCatch(evaluationFailed, { resultPath: '$.error' });

    const aggregate = new tasks.LambdaInvoke(this, 'Aggregate metrics', {
      lambdaFunction: fns.aggregate,
      payload: sfn.TaskInput.fromObject({
        'candidate.$': '$.candidate.name',
        'trainingOutputUri.$': '$.trainingOutputUri',
        'evaluationOutputUri.$': '$.evaluationOutputUri',
        'shards': evaluation.shards,
      }),
      payloadResponseOnly: true,
      resultPath: '$.metrics',
    });
    aggregate.addCatch(evaluationFailed, { resultPath: '$.error' });
    const evaluated = outcome('Evaluated', {
      'status': 'EVALUATED',
      'metrics.$': '$.metrics.metrics',
      'slices.$': '$.metrics.slices',
      'latencyMs.$': '$.metrics.latencyMs',
      'metricsUri.$': '$.metrics.metricsUri',
      'modelDataUrl.$': "States.Format('{}model.tar.gz', $.trainingOutputUri)",
      'trainingJobId.$': '$.training.jobId',
      'evaluationJobId.$': '$.evaluation.jobId',
    });
    const judgeCandidate = evaluate.next(aggregate).next(evaluated);

    // Spot could not finish the job: reclaimed on its last attempt, or cancelled after waiting for capacity.
    const spotGaveOut = sfn.Condition.or(
      sfn.Condition.stringMatches('$.error.Cause', '*"StatusReason":"Host EC2*'),
      sfn.Condition.stringMatches('$.error.Cause', '*"StatusReason":"CAPACITY:*'),
    );
    if (onDemandQueueArn) {
      const trainOnDemand = submitTraining('Train on demand', onDemandQueueArn);
      trainOnDemand.addCatch(trainingFailed, { resultPath: '$.error' });
      trainOnSpot.addCatch(
        new sfn.Choice(this, 'Spot gave out?')
          .when(spotGaveOut, trainOnDemand.next(judgeCandidate))
          .otherwise(trainingFailed),
        { resultPath: '$.error' },
      );
    } else {
      trainOnSpot.addCatch(trainingFailed, { resultPath: '$.error' });
    }

    const perCandidate = checkCache.next(
      new sfn.Choice(this, 'Already trained?')
        .when(sfn.Condition.booleanEquals('$.cache.hit', true), reuse)
        .otherwise(trainOnSpot.next(judgeCandidate)),
    );

    const eachCandidate = new sfn.Map(this, 'Each candidate', {
      itemsPath: '$.candidates',
      maxConcurrency: props.maxConcurrency ?? props.candidates.length,
      itemSelector: {
        'candidate.$': '$$.Map.Item.Value',
        'codeVersion.$': '$.codeVersion',
        'dataVersion.$': '$.dataVersion',
        'trainingOutputUri.$': `States.Format('s3://${models}/runs/{}/{}/', $$.Execution.Name, $$.Map.Item.Value.name)`,
        'evaluationOutputUri.$': `States.Format('s3://${models}/evaluations/{}/{}/', $$.Execution.Name, $$.Map.Item.Value.name)`,
        'checkpointUri.$': `States.Format('s3://${checkpoints}/runs/{}/{}/', $$.Execution.Name, $$.Map.Item.Value.name)`,
      },
      resultPath: '$.outcomes',
    });
    eachCandidate.itemProcessor(perCandidate);

    // 3. The champion, the gate, and the winner's registration.
    const gateTask = new tasks.LambdaInvoke(this, 'Quality gate', {
      lambdaFunction: fns.gate,
      payload: sfn.TaskInput.fromObject({ 'outcomes.$': '$.outcomes', 'champion.$': '$.champion' }),
      payloadResponseOnly: true,
      resultPath: '$.decision',
    });
    // null when the group has no approved model yet: the first model has no champion to beat.
    const findChampion = new tasks.LambdaInvoke(this, 'Find the champion', {
      lambdaFunction: fns.champion,
      payload: sfn.TaskInput.fromObject({ allowNone: true }),
      payloadResponseOnly: true,
      resultPath: '$.champion',
    });

    const register = new tasks.LambdaInvoke(this, 'Register the winner', {
      lambdaFunction: fns.register,
      payload: sfn.TaskInput.fromObject({
        'winner.$': '$.decision.winner',
        'codeVersion.$': '$.codeVersion',
        'dataVersion.$': '$.dataVersion',
        'executionId.$': '$$.Execution.Id',
      }),
      payloadResponseOnly: true,
      resultPath: '$.registration',
    });
    const succeed = new sfn.Succeed(this, 'Winner registered');
    const verdict = new sfn.Choice(this, 'A winner?')
      .when(sfn.Condition.isPresent('$.decision.winner'), register.next(succeed))
      .otherwise(new sfn.Fail(this, 'No candidate passed the gate', { error: 'QualityGateFailed', causePath: '$.decision.summary' }));

    candidates.next(eachCandidate).next(findChampion).next(gateTask).next(verdict);
    return start;
  }

  private acknowledgeStateMachineRole(fns: ReturnType<TrainingWorkflow['createFunctions']>): void {
    const policy = this.stateMachine.role.node.tryFindChild('DefaultPolicy');
    if (!policy) return;
    const stack = Stack.of(this);
    const functionVersions: Record<string, string> = {};
    for (const fn of [fns.cache, fns.aggregate, fns.gate, fns.register, fns.champion, ...(fns.snapshot ? [fns.snapshot.function] : [])]) {
      functionVersions[`AwsSolutions-IAM5[Resource::<${stack.getLogicalId(fn.node.defaultChild as lambda.CfnFunction)}.Arn>:*]`] =
        'aws-cdk-lib grants the versions and aliases of each function the workflow invokes (ARN:*), not other functions.';
    }
    acknowledge(policy, {
      ...functionVersions,
      ['AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:batch:<AWS::Region>:<AWS::AccountId>:job-definition/*]']:
        'Candidates choose their training job definition at run time; SubmitJob also needs the queue, and only this ' +
        'workflow\'s training and evaluation queues are granted, so no other job can be submitted anywhere else.',
      'AwsSolutions-IAM5[Resource::*]': 'CloudWatch Logs delivery (logs:CreateLogDelivery and related) and X-Ray tracing accept only "*".',
      ...INLINE_ROLE_POLICY,
    });
  }
}

function configHash(candidate: TrainingCandidate): string {
  const job = candidate.trainingJob;
  const config = {
    name: candidate.name,
    hyperparameters: sortedObject(candidate.hyperparameters ?? {}),
    vcpus: job.vcpus,
    memoryMiB: job.memory.toMebibytes(),
    gpus: job.gpus,
    jobDefinition: job.node.path,
  };
  return crypto.createHash('sha256').update(JSON.stringify(config)).digest('hex');
}

function sortedObject(o: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => a.localeCompare(b)));
}
