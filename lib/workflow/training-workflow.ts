import * as crypto from 'crypto';
import { Duration, Stack, Token } from 'aws-cdk-lib';
import * as batch from 'aws-cdk-lib/aws-batch';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { JobDefinitionRevisions } from './job-definition-revisions';
import { renderGateRules } from './private/gate-rules';
import { hasTokens, hyperparametersForHash, hyperparametersJson, validateHyperparameters } from './private/hyperparameters';
import { QualityGateRules } from './quality-gate-rules';
import { ContainerContract } from '../compute/container-contract';
import { JobKind, MlJobDefinition } from '../compute/ml-job-definition';
import { AggregateMetricsFunction } from '../handlers/aggregate-metrics-function';
import { QualityGateFunction } from '../handlers/quality-gate-function';
import { RegisterModelFunction } from '../handlers/register-model-function';
import { TrainingCacheFunction } from '../handlers/training-cache-function';
import { acknowledge } from '../private/acknowledge';
import { INLINE_ROLE_POLICY } from '../private/common-findings';
import { CANCELLED_FOR_CAPACITY, SPOT_RECLAIMED_PREFIX } from '../private/contract/batch-status-reasons';
import { DEFAULT_WORKFLOW_TRIGGER } from '../private/contract/data-trigger';
import {
  CACHE_RECORD_PREFIX, GATE_ENV, ON_DEMAND_EVALUATION_STAGE, ON_DEMAND_TRAINING_STAGE, TRAINING_DIMENSIONS, TRAINING_METRICS, TRAINING_NAMESPACE,
} from '../private/contract/workflow';
import { acknowledgeHandler, handlerOptions } from '../private/handler-options';
import { encryptedLogGroup } from '../private/log-group';
import { NagReason, REASONS } from '../private/nag-reasons';
import { nagArnId, nagResourceId } from '../private/nag-resource';
import { retryTransient } from '../private/task-retries';
import { isConcrete, MlOpsValidationError } from '../private/validation';
import { LatestApprovedModelLookup } from '../registry/latest-approved-model-lookup';
import { IModelImageRepository } from '../registry/model-image-repository';
import { IModelPackageGroup } from '../registry/model-package-group';
import { DataVersionSnapshot } from '../storage/data-version-snapshot';
import { bucketInput } from '../storage/private/bucket-input';
import { IVersionedBucket } from '../storage/versioned-bucket';

/** One approach to train and judge. */
export interface TrainingCandidate {
  /** A short name: 1-40 lowercase letters, digits and hyphens. It names jobs, S3 prefixes and the lineage. */
  readonly name: string;
  /** The training job definition (all candidates train on the same queue). */
  readonly trainingJob: MlJobDefinition;
  /**
   * Hyperparameters, given to the job as the JSON object `MLOPS_HYPERPARAMETERS` (keys sorted at every depth): strings,
   * numbers, booleans, null, lists and plain objects, as given (`{ lr: 0.001 }` arrives as the number 0.001). Tokens
   * resolve at deploy time. At most 4096 characters of JSON per candidate, 32 KiB for all.
   * @default - none
   */
  readonly hyperparameters?: { [name: string]: any };
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
  /**
   * The repository the training and evaluation images come from (the pipeline's `TrainingImageBuild` pushes them
   * there). Each execution runs the images its input names by digest, from this repository only: the job
   * definitions' own image is a placeholder that never runs.
   */
  readonly trainingImageRepository: IModelImageRepository;
  /** The gate's rules. */
  readonly gate: QualityGateRules;
  /**
   * Holds the data; `MLOPS_DATA_URI` points into it. A `VersionedBucket`, an `s3.Bucket` or an imported `s3.IBucket`
   * (its key is granted too), as for the two buckets below. All three must be versioned: a bucket made in this app
   * without versioning fails at synth; an imported bucket must be versioned by its owner.
   */
  readonly dataBucket: s3.IBucketRef;
  /** Receives the models (`runs/<execution>/<candidate>/`) and evaluations (`evaluations/<execution>/<candidate>/`). */
  readonly modelBucket: s3.IBucketRef;
  /** Receives the checkpoints (`runs/<execution>/<candidate>/`), the same for every attempt of a job. */
  readonly checkpointBucket: s3.IBucketRef;
  /**
   * The image recorded in the model package for inference. The pipeline later bakes the model and the serving code
   * into one image; this is the serving base image the package starts from.
   */
  readonly inferenceImageUri: string;
  /**
   * Takes the data version when the execution input has none (`{ "dataPrefix": "datasets/fraud/" }`). The jobs may
   * read its manifests (`manifestPrefix` of the data bucket).
   * @default - the input must carry `dataVersion`; the jobs may read manifests under `data-versions/` of the data bucket
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
  /**
   * A VPC for the workflow's functions (training cache, metrics aggregation, quality gate, registration, champion
   * lookup, job definition revisions). It needs a route to the SageMaker, S3, KMS, Batch, ECR and CloudWatch APIs (NAT,
   * or interface endpoints and an S3 gateway endpoint).
   * @default - not in a VPC: the functions only call AWS service APIs
   */
  readonly vpc?: ec2.IVpc;
  /**
   * Subnets for the functions, when `vpc` is set.
   * @default - the VPC's private subnets
   */
  readonly vpcSubnets?: ec2.SubnetSelection;
}

const CANDIDATE_NAME = /^[a-z0-9](-?[a-z0-9]){0,39}$/;
/** DataVersionSnapshot's default manifest prefix, for a workflow given its data versions in the input. */
const DEFAULT_MANIFEST_PREFIX = 'data-versions/';
const DEFAULT_TIMEOUT = Duration.hours(48);

/**
 * The longest one job of the definition can take through the workflow: every attempt on the spot queue may run its
 * full attempt timeout (a reclaim can come at the last minute), and when the queue has an on-demand fallback, the
 * job runs once more there. Under a spot-aware policy the on-demand job gets one full attempt (its other retried
 * failures, image pulls, end at the start); a policy that retries more counts all its attempts again.
 */
function worstCaseSeconds(job: MlJobDefinition): number {
  const attempt = job.attemptTimeout.toSeconds();
  const attempts = job.retryPolicy.attempts;
  if (!job.queue.onDemandJobQueue) return attempts * attempt;
  const retriesLateFailures = job.retryPolicy.rules.some((r) => r.action === batch.Action.RETRY &&
    r.onStatusReason !== `${SPOT_RECLAIMED_PREFIX}*` && r.onReason !== 'CannotPullContainerError*');
  return attempts * attempt + (retriesLateFailures ? attempts : 1) * attempt;
}

/** The props with the buckets as this library's buckets (prefix-scoped grants). */
type WorkflowInputs = Omit<TrainingWorkflowProps, 'dataBucket' | 'modelBucket' | 'checkpointBucket'> & {
  readonly dataBucket: IVersionedBucket;
  readonly modelBucket: IVersionedBucket;
  readonly checkpointBucket: IVersionedBucket;
};

/**
 * Trains several candidates in parallel on spot GPUs, evaluates each as an array job on spot CPUs, gates them on
 * performance, fairness, latency and the champion in production, and registers the winner with its lineage. A
 * Step Functions standard state machine, with all events logged to an encrypted log group and X-Ray tracing.
 *
 * The pipeline's Train stage starts it after its Build stage (`TrainingImageBuild`). To start an execution by hand
 * (console, `aws stepfunctions start-execution --input`), name the images by digest, for example those of the
 * last build (`aws ecr describe-images --repository-name <repository> --image-ids imageTag=train-<hash>` gives the
 * digest):
 * `{ "codeVersion": "<commit>", "trainingImageUri": "<repository URI>@sha256:<digest>", "dataPrefix": "datasets/x/" }`
 * (with `dataSnapshot`), or with `"dataVersion": { "dataVersionId": "...", "manifestUri": "s3://...", "prefix":
 * "datasets/x/" }` instead of `dataPrefix`. Add `"evaluationImageUri"` when evaluation runs another image (default:
 * the training image). Without `trainingImageUri` the execution fails at once with `MissingTrainingImage`; an image
 * by tag, or from another repository, fails with `InvalidJobDefinitionRequest`. `codeVersion` is lineage only.
 *
 * - Images: Batch fixes the image in the job definition, so before any job the workflow registers (or reuses) a
 *   revision of each job definition with the given image (`<name>-img`, at most 5 active revisions each), and the
 *   jobs run those revisions.
 * - Training cache: a candidate already trained and evaluated on the same (training image digest, evaluation image
 *   digest, data version, configuration) is not trained again, never keyed on the commit: a change to serving code
 *   alone builds the same training image and costs no GPU minute; a new training image is always trained. Winners are
 *   found as model packages, every other evaluated candidate as a record under `training-cache/` of the model bucket;
 *   a cached result still goes through the gate.
 * - Spot: Batch retries reclaimed attempts (RetryPolicy); a job that spot could not finish (reclaimed on its last
 *   attempt, or cancelled after waiting for capacity) is trained again on the on-demand queue; a code error fails
 *   that candidate only, the others go on.
 * - No winner: the execution fails with error `QualityGateFailed` and every reason in the cause.
 *
 * @example
 * new TrainingWorkflow(this, 'Training', {
 *   candidates: [{ name: 'xgb', trainingJob: gradientBoosting }, { name: 'mlp', trainingJob: neuralNetwork, hyperparameters: { lr: '0.001' } }],
 *   evaluationJob: evaluate,
 *   modelPackageGroup: models, trainingImageRepository: trainingImages,
 *   dataBucket: data, modelBucket: artifacts, checkpointBucket: checkpoints,
 *   inferenceImageUri: servingImages.uriForTag('base'),
 *   gate: { primaryMetric: 'auc', thresholds: [{ metric: 'auc', min: 0.8 }], fairness: [{ metric: 'auc', maxGap: 0.05 }] },
 * });
 */
export class TrainingWorkflow extends Construct {
  /** The state machine. */
  public readonly stateMachine: sfn.StateMachine;
  /** The execution log group. */
  public readonly logGroup: logs.ILogGroup;
  /** The repository the images of the jobs come from. */
  public readonly trainingImageRepository: IModelImageRepository;

  constructor(scope: Construct, id: string, props: TrainingWorkflowProps) {
    super(scope, id);
    const inputs: WorkflowInputs = {
      ...props,
      // Nothing is lost: a model, a checkpoint or a file of a data version overwritten in an unversioned bucket is gone.
      dataBucket: bucketInput(this, 'DataBucket', props.dataBucket, {
        construct: 'TrainingWorkflow',
        prop: 'dataBucket',
        why: 'The data versions the models were trained on are object versions: without versioning, an overwritten file is lost.',
      }),
      modelBucket: bucketInput(this, 'ModelBucket', props.modelBucket, {
        construct: 'TrainingWorkflow',
        prop: 'modelBucket',
        why: 'The models, evaluations and training cache are kept for lineage and rollback: without versioning, an overwrite or delete loses them.',
      }),
      checkpointBucket: bucketInput(this, 'CheckpointBucket', props.checkpointBucket, {
        construct: 'TrainingWorkflow',
        prop: 'checkpointBucket',
        why: 'A checkpoint overwritten by a failing attempt must stay recoverable: without versioning, it is lost.',
      }),
    };
    this.validate(inputs);
    const gateRules = renderGateRules(this, inputs.gate);
    const trainingQueue = inputs.candidates[0].trainingJob.queue;
    const evaluation = inputs.evaluationJob;

    this.trainingImageRepository = inputs.trainingImageRepository;
    const functions = this.createFunctions(inputs, gateRules);
    this.grantJobAccess(inputs);
    const revisions = new JobDefinitionRevisions(this, 'JobDefinitionRevisions', {
      jobDefinitions: [...inputs.candidates.map((c) => c.trainingJob), evaluation],
      imageRepositories: [inputs.trainingImageRepository],
      vpc: inputs.vpc,
      vpcSubnets: inputs.vpcSubnets,
    });

    const definition = this.definition(inputs, functions, revisions, trainingQueue.jobQueue.jobQueueArn,
      trainingQueue.onDemandJobQueue?.jobQueueArn, evaluation);

    this.logGroup = encryptedLogGroup(this, 'Logs', { retention: inputs.logRetention });
    this.stateMachine = new sfn.StateMachine(this, 'Resource', {
      definitionBody: sfn.DefinitionBody.fromChainable(definition),
      stateMachineType: sfn.StateMachineType.STANDARD,
      timeout: inputs.timeout ?? DEFAULT_TIMEOUT,
      tracingEnabled: true,
      logs: { destination: this.logGroup, level: sfn.LogLevel.ALL, includeExecutionData: true },
    });
    this.grantBatchSyncJobs();
    this.acknowledgeStateMachineRole(functions, revisions);
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

  /** Candidates whose training finished on the spot queue (sum per period). */
  public metricCandidatesOnSpot(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.trainingMetric(TRAINING_METRICS.trainedOnSpot, props);
  }

  /** Candidates spot could not train that ran again on the on-demand queue: the fallbacks (sum per period). */
  public metricCandidatesOnDemand(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.trainingMetric(TRAINING_METRICS.trainedOnDemand, props);
  }

  /**
   * Evaluations spot could not finish that ran again on the evaluation queue's on-demand queue (sum per period),
   * whatever came of them; counted apart from the training fallbacks (`metricCandidatesOnDemand`).
   *
   * @default - sum over 5 minutes
   */
  public metricEvaluationsOnDemand(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.trainingMetric(TRAINING_METRICS.evaluationsOnDemand, props);
  }

  /**
   * GPU hours the candidates' training used on the spot queue (sum per period): for each attempt that ran a container,
   * reclaimed ones included, its running time (Batch's attempt start to stop) times the GPUs of the job definition.
   * The instances' start-up and idle time are not in it, so the bill is somewhat higher. A cache hit adds nothing.
   *
   * @default - sum over 5 minutes
   */
  public metricGpuHoursOnSpot(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.trainingMetric(TRAINING_METRICS.gpuHoursOnSpot, props);
  }

  /**
   * GPU hours the candidates' training used on the on-demand queue, after spot gave out (sum per period), counted as
   * `metricGpuHoursOnSpot`.
   *
   * @default - sum over 5 minutes
   */
  public metricGpuHoursOnDemand(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.trainingMetric(TRAINING_METRICS.gpuHoursOnDemand, props);
  }

  /** Candidates not trained because the training cache had their result (sum per period). */
  public metricCacheHits(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.trainingMetric(TRAINING_METRICS.cacheHits, props);
  }

  /** Candidates that failed in training, evaluation or aggregation (sum per period). */
  public metricCandidatesFailed(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.trainingMetric(TRAINING_METRICS.failed, props);
  }

  /** Candidates judged by the quality gate (sum per period). */
  public metricCandidates(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.trainingMetric(TRAINING_METRICS.candidates, props);
  }

  /**
   * The value of the `Workflow` dimension of this workflow's training metrics: its construct path, known at synth
   * (the state machine's name is not known to the function it invokes without a circular reference).
   */
  public get metricsWorkflow(): string {
    return this.node.path;
  }

  private trainingMetric(metricName: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: TRAINING_NAMESPACE,
      metricName,
      dimensionsMap: { [TRAINING_DIMENSIONS.workflow]: this.metricsWorkflow },
      statistic: 'Sum',
      ...props,
    });
  }

  private validate(props: TrainingWorkflowProps): void {
    const fail = (prop: string, value: unknown, fix: string) => {
      throw new MlOpsValidationError(this, 'TrainingWorkflow', prop, value, fix);
    };
    if (!props.trainingImageRepository) {
      fail('trainingImageRepository', undefined, 'Give the repository the pipeline\'s TrainingImageBuild pushes the training image to.');
    }
    if (props.candidates.length === 0 || props.candidates.length > 40) {
      fail('candidates', `${props.candidates.length} candidates`, 'Give 1 to 40 candidates.');
    }
    validateHyperparameters(this, props.candidates);
    const seen = new Set<string>();
    props.candidates.forEach((c, i) => {
      if (isConcrete(c.name) && !CANDIDATE_NAME.test(c.name)) {
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
    this.validateWorstCase(props);
    if (isConcrete(props.inferenceImageUri) && !/^[a-z0-9.-]+(:\d+)?\/[a-z0-9._\/-]+(:[\w.-]+|@sha256:[a-f0-9]{64})$/.test(props.inferenceImageUri)) {
      fail('inferenceImageUri', props.inferenceImageUri, 'Give a full image URI with a tag or digest, e.g. 123456789012.dkr.ecr.eu-west-1.amazonaws.com/serving@sha256:...');
    }
  }

  /**
   * The execution timeout must cover the worst case, or a run that ends late loses every result it had: each wave of
   * `maxConcurrency` candidates may take the slowest candidate's worst training plus its worst evaluation.
   */
  private validateWorstCase(props: TrainingWorkflowProps): void {
    const timeout = (props.timeout ?? DEFAULT_TIMEOUT).toSeconds();
    const concurrency = props.maxConcurrency ?? props.candidates.length;
    if (Token.isUnresolved(timeout) || Token.isUnresolved(concurrency)) return;
    const jobs = [...props.candidates.map((c) => c.trainingJob), props.evaluationJob];
    if (jobs.some((j) => Token.isUnresolved(j.attemptTimeout.toSeconds()) || Token.isUnresolved(j.retryPolicy.attempts))) return;
    const training = Math.max(...props.candidates.map((c) => worstCaseSeconds(c.trainingJob)));
    const perCandidate = training + worstCaseSeconds(props.evaluationJob);
    const waves = Math.ceil(props.candidates.length / Math.max(1, concurrency));
    const worst = waves * perCandidate;
    if (worst > timeout) {
      const hours = (seconds: number) => `${Math.ceil(seconds / 360) / 10} h`;
      throw new MlOpsValidationError(this, 'TrainingWorkflow', 'timeout', Duration.seconds(timeout).toHumanString(),
        `${props.candidates.length} candidates at maxConcurrency ${concurrency} run in ${waves} wave(s) of up to ${hours(perCandidate)} each ` +
        '(every attempt of the training job definition times its attemptTimeout, plus the on-demand attempt, then the same for the ' +
        `evaluation), so the worst case is ${hours(worst)} and the execution would end before its last candidates finish, losing ` +
        `the results of all: raise timeout to at least ${hours(worst)}, raise maxConcurrency, or shorten attemptTimeout.`);
    }
  }

  private createFunctions(props: WorkflowInputs, gateRules: string) {
    const group = props.modelPackageGroup;
    const handler = (id: string, description: string, memorySize: number, timeout: Duration, environment: Record<string, string>) => ({
      description, memorySize, timeout, environment, logGroupId: `${id}Logs`, vpc: props.vpc, vpcSubnets: props.vpcSubnets,
    });

    const cache = new TrainingCacheFunction(this, 'TrainingCache', handlerOptions(this,
      handler('TrainingCache', 'cdk-mlops: finds (and records) candidates already trained with the same images, data and configuration', 256, Duration.minutes(1),
        { MODEL_PACKAGE_GROUP_NAME: group.modelPackageGroupName, MODEL_BUCKET_NAME: props.modelBucket.bucketName })));
    group.grantRead(cache);
    // A cache hit reads the evaluation aggregate back, for the gate's fairness and latency rules.
    props.modelBucket.grantRead(cache, 'evaluations/');
    // The record of every evaluated candidate (see CACHE_RECORD_PREFIX); only this function writes there.
    props.modelBucket.grantReadWrite(cache, CACHE_RECORD_PREFIX);

    const aggregate = new AggregateMetricsFunction(this, 'AggregateMetrics', handlerOptions(this,
      handler('AggregateMetrics', 'cdk-mlops: validates and aggregates the metrics of a candidate\'s evaluation shards', 512, Duration.minutes(5), {})));
    props.modelBucket.grantRead(aggregate, 'runs/');
    props.modelBucket.grantReadWrite(aggregate, 'evaluations/');

    const gate = new QualityGateFunction(this, 'QualityGate', handlerOptions(this,
      handler('QualityGate', 'cdk-mlops: judges the candidates against the quality gate rules and the champion', 256, Duration.minutes(1),
        { [GATE_ENV.rules]: gateRules, [GATE_ENV.metricsWorkflow]: this.metricsWorkflow })));
    // The run's training metrics. PutMetricData has no resource-level permissions; the cloudwatch:namespace condition
    // key limits it to this namespace (CloudWatch User Guide, "Using condition keys to limit access to CloudWatch namespaces").
    gate.addToRolePolicy(new iam.PolicyStatement({
      actions: ['cloudwatch:PutMetricData'],
      resources: ['*'],
      conditions: { StringEquals: { 'cloudwatch:namespace': TRAINING_NAMESPACE } },
    }));

    const register = new RegisterModelFunction(this, 'RegisterModel', handlerOptions(this,
      handler('RegisterModel', 'cdk-mlops: registers the winning candidate as a model package with its lineage', 256, Duration.minutes(1), {
        MODEL_PACKAGE_GROUP_NAME: group.modelPackageGroupName,
        APPROVAL_STATUS: props.approvalStatus ?? ModelApprovalStatus.PENDING_MANUAL_APPROVAL,
        INFERENCE_IMAGE_URI: props.inferenceImageUri,
      })));
    group.grantRead(register);
    group.grantRegister(register);

    const champion = new LatestApprovedModelLookup(this, 'Champion', { modelPackageGroup: group, vpc: props.vpc, vpcSubnets: props.vpcSubnets });

    const packages = `AwsSolutions-IAM5[Resource::${nagResourceId(this, group.modelPackagesArn)}]`;
    acknowledgeHandler(cache, props.vpc !== undefined, {
      'AwsSolutions-IAM5[Resource::*]': REASONS.lambda.tracingAndListModelPackages,
      [packages]: REASONS.sagemaker.modelPackagesRead,
      [`AwsSolutions-IAM5[Resource::${nagResourceId(this, props.modelBucket.bucket.arnForObjects('evaluations/*'))}]`]:
        REASONS.s3.evaluationAggregateRead,
      [`AwsSolutions-IAM5[Resource::${nagResourceId(this, props.modelBucket.bucket.arnForObjects(`${CACHE_RECORD_PREFIX}*`))}]`]:
        REASONS.s3.trainingCacheRecords,
      'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]': REASONS.kms.bucketWriteDataKeys,
      'AwsSolutions-IAM5[Action::kms:ReEncrypt*]': REASONS.kms.bucketWriteReEncrypt,
    });
    acknowledgeHandler(register, props.vpc !== undefined, {
      'AwsSolutions-IAM5[Resource::*]': REASONS.lambda.tracingAndListModelPackages,
      [packages]: REASONS.sagemaker.modelPackagesRegister,
    });
    const objects = (prefix: string) => `AwsSolutions-IAM5[Resource::${nagResourceId(this, props.modelBucket.bucket.arnForObjects(`${prefix}*`))}]`;
    acknowledgeHandler(aggregate, props.vpc !== undefined, {
      [objects('runs/')]: REASONS.s3.trainingRunMetrics,
      [objects('evaluations/')]: REASONS.s3.evaluationShards,
      'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]': REASONS.kms.bucketWriteDataKeys,
      'AwsSolutions-IAM5[Action::kms:ReEncrypt*]': REASONS.kms.bucketWriteReEncrypt,
    });
    acknowledgeHandler(gate, props.vpc !== undefined, {
      'AwsSolutions-IAM5[Resource::*]': REASONS.lambda.tracingAndPutMetricData(TRAINING_NAMESPACE),
    });

    return { cache, aggregate, gate, register, champion: champion.function as lambda.Function, snapshot: props.dataSnapshot };
  }

  /**
   * The prefixes the workflow's layout needs, granted to the job roles (nothing else), and the data versions'
   * manifests (`MLOPS_DATA_MANIFEST_URI`): read only, under the manifest prefix only.
   */
  private grantJobAccess(props: WorkflowInputs): void {
    const layout = REASONS.s3.trainingLayout;
    const manifestPrefix = props.dataSnapshot?.manifestPrefix ?? DEFAULT_MANIFEST_PREFIX;
    const manifests = REASONS.s3.dataVersionManifestsRead(manifestPrefix);
    const grants: Array<[MlJobDefinition, IVersionedBucket, string, 'read' | 'readWrite', NagReason]> = [];
    for (const c of props.candidates) {
      grants.push(
        [c.trainingJob, props.modelBucket, 'runs/', 'readWrite', layout('runs/', 'readWrite')],
        [c.trainingJob, props.checkpointBucket, 'runs/', 'readWrite', layout('runs/', 'readWrite')],
        [c.trainingJob, props.dataBucket, manifestPrefix, 'read', manifests],
      );
    }
    grants.push(
      [props.evaluationJob, props.modelBucket, 'runs/', 'read', layout('runs/', 'read')],
      [props.evaluationJob, props.modelBucket, 'evaluations/', 'readWrite', layout('evaluations/', 'readWrite')],
      [props.evaluationJob, props.dataBucket, manifestPrefix, 'read', manifests],
    );
    const done = new Set<string>();
    for (const [job, bucket, prefix, access, reason] of grants) {
      const key = `${job.node.addr}/${bucket.node.addr}/${prefix}/${access}`;
      if (done.has(key)) continue;
      done.add(key);
      if (access === 'read') bucket.grantRead(job, prefix);
      else bucket.grantReadWrite(job, prefix);
      const policy = job.jobRole.node.tryFindChild('DefaultPolicy');
      if (policy) {
        acknowledge(policy, {
          [`AwsSolutions-IAM5[Resource::${nagResourceId(this, bucket.bucket.arnForObjects(`${prefix}*`))}]`]: reason,
          ...(access === 'readWrite' && bucket.encryptionKey ? {
            'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]': REASONS.kms.bucketWriteDataKeys,
            'AwsSolutions-IAM5[Action::kms:ReEncrypt*]': REASONS.kms.bucketWriteReEncrypt,
          } : {}),
          ...INLINE_ROLE_POLICY,
        });
      }
    }
  }

  private definition(
    props: WorkflowInputs,
    fns: ReturnType<TrainingWorkflow['createFunctions']>,
    revisions: JobDefinitionRevisions,
    spotQueueArn: string,
    onDemandQueueArn: string | undefined,
    evaluation: MlJobDefinition,
  ): sfn.IChainable {
    const models = props.modelBucket.bucketName;
    const checkpoints = props.checkpointBucket.bucketName;
    const data = props.dataBucket.bucketName;

    // 1. The images (a revision of each job definition that runs them), then the data version: given, or taken now.
    const candidateRecord = (c: TrainingCandidate) => ({
      name: c.name,
      configHash: configHash(this, c, evaluation),
      // The position of its training job definition's revision in $.jobDefinitions.revisionArns.
      jobDefinitionIndex: revisions.indexOf(c.trainingJob),
      hyperparameters: hyperparametersJson(this, c.hyperparameters),
      // GPUs per training job, for the GPU-hour metrics (the job definition's resource requirement).
      gpus: c.trainingJob.gpus,
    });
    const candidateFields = Object.keys(candidateRecord(props.candidates[0]));
    const candidates = new sfn.Pass(this, 'Candidates', {
      result: sfn.Result.fromArray(props.candidates.map(candidateRecord)),
      resultPath: '$.candidates',
    });
    // The image check comes first: an input without an image fails before anything is taken or registered.
    const prepare = revisions.prepareChain();
    const start = prepare;
    let dataVersion: sfn.IChainable = candidates;
    if (fns.snapshot) {
      const snapshot = retryTransient(new tasks.LambdaInvoke(this, 'Take data version', {
        lambdaFunction: fns.snapshot.function,
        payload: sfn.TaskInput.fromObject({ 'prefix.$': '$.dataPrefix' }),
        payloadResponseOnly: true,
        retryOnServiceExceptions: false,
        resultSelector: { 'dataVersionId.$': '$.dataVersionId', 'manifestUri.$': '$.manifestUri', 'prefix.$': '$.prefix' },
        resultPath: '$.dataVersion',
      }), 'lambda');
      dataVersion = new sfn.Choice(this, 'Data version given?')
        .when(sfn.Condition.isPresent('$.dataVersion'), candidates)
        .otherwise(snapshot.next(candidates));
    }
    // Why the run started, for the lineage: the pipeline passes its TRIGGER variable; a run started by hand may not.
    const defaultTrigger = new sfn.Pass(this, 'Trigger not given: manual', {
      result: sfn.Result.fromString(DEFAULT_WORKFLOW_TRIGGER),
      resultPath: '$.trigger',
    });
    prepare.next(new sfn.Choice(this, 'Trigger given?')
      .when(sfn.Condition.isPresent('$.trigger'), dataVersion)
      .otherwise(defaultTrigger.next(dataVersion)));

    // 2. Each candidate: cache, train (spot, then on-demand), evaluate (spot, then on-demand), aggregate.
    const outcome = (name: string, fields: Record<string, unknown>) => new sfn.Pass(this, name, {
      parameters: { 'candidate.$': '$.candidate.name', 'configHash.$': '$.candidate.configHash', ...fields },
    });
    const failedFields = { 'status': 'FAILED', 'failure.$': '$.failure.text', 'failureDetail.$': '$.failure' };
    // The GPU time of the training, every attempt on every queue (the gate publishes GPU hours from it). A failed
    // training's attempts are in its failure summary; a finished one's in $.training.
    const trainingTime = (attempts: Record<string, unknown>) => ({ 'gpus.$': '$.candidate.gpus', ...attempts });
    const trainingFailed = outcome('Training failed', {
      ...failedFields, trainingTime: trainingTime({ attempts: { 'spot.$': '$.failure.attemptTimes' } }),
    });
    // Spot gave out and the on-demand job failed too: both jobs' attempts were billed.
    const onDemandTrainingFailed = outcome('Training on demand failed', {
      ...failedFields, trainingTime: trainingTime({ attempts: { 'spot.$': '$.spotAttempts', 'onDemand.$': '$.failure.attemptTimes' } }),
    });
    const trainedTime = trainingTime({ 'attempts.$': '$.training.attempts' });
    // Trained, then the evaluation failed: which queue trained it still counts (the training's failure stage says it otherwise).
    const evaluationFailed = outcome('Evaluation failed', {
      ...failedFields, 'trainedOnDemand.$': '$.training.onDemand', 'trainingTime': trainedTime,
    });
    // Evaluated (on spot or on demand), then the aggregation failed: the evaluation's queue still counts.
    const aggregationFailed = outcome('Aggregation failed', {
      ...failedFields, 'trainedOnDemand.$': '$.training.onDemand', 'trainingTime': trainedTime, 'evaluatedOnDemand.$': '$.evaluation.onDemand',
    });

    const checkCache = retryTransient(new tasks.LambdaInvoke(this, 'Check training cache', {
      lambdaFunction: fns.cache,
      payload: sfn.TaskInput.fromObject({
        'candidate.$': '$.candidate.name',
        'configHash.$': '$.candidate.configHash',
        // The images by digest, never the commit: a serving-only commit builds the same training image.
        'trainingImageUri.$': '$.trainingImageUri',
        'evaluationImageUri.$': '$.evaluationImageUri',
        'dataVersionId.$': '$.dataVersion.dataVersionId',
      }),
      payloadResponseOnly: true,
      retryOnServiceExceptions: false,
      resultPath: '$.cache',
    }), 'lambda');
    const reuse = new sfn.Pass(this, 'Reuse cached model', { outputPath: '$.cache.outcome' });
    // A lookup that still fails after the retries counts as a miss: training again costs GPU time, while failing
    // the candidate would lose it (and failing the execution would lose every candidate).
    const cacheUnavailable = new sfn.Pass(this, 'Cache unavailable: train', {
      parameters: { 'hit': false, 'error.$': '$.cacheError.Error' },
      resultPath: '$.cache',
    });
    checkCache.addCatch(cacheUnavailable, { resultPath: '$.cacheError' });

    const trainingEnvironment = {
      [ContainerContract.DATA_URI]: sfn.JsonPath.format(`s3://${data}/{}`, sfn.JsonPath.stringAt('$.dataVersion.prefix')),
      [ContainerContract.DATA_VERSION]: sfn.JsonPath.stringAt('$.dataVersion.dataVersionId'),
      [ContainerContract.DATA_MANIFEST_URI]: sfn.JsonPath.stringAt('$.dataVersion.manifestUri'),
      [ContainerContract.OUTPUT_URI]: sfn.JsonPath.stringAt('$.trainingOutputUri'),
      [ContainerContract.CHECKPOINT_URI]: sfn.JsonPath.stringAt('$.checkpointUri'),
      [ContainerContract.CANDIDATE]: sfn.JsonPath.stringAt('$.candidate.name'),
      [ContainerContract.HYPERPARAMETERS]: sfn.JsonPath.stringAt('$.candidate.hyperparameters'),
      [ContainerContract.CODE_VERSION]: sfn.JsonPath.stringAt('$.codeVersion'),
    };
    const submitTraining = (name: string, queueArn: string) => retryTransient(new tasks.BatchSubmitJob(this, name, {
      jobName: sfn.JsonPath.format('{}-train', sfn.JsonPath.stringAt('$.candidate.name')),
      // The revision that runs this execution's training image (registered before the Map).
      jobDefinitionArn: sfn.JsonPath.arrayGetItem(
        sfn.JsonPath.listAt('$.jobDefinitions.revisionArns'), sfn.JsonPath.numberAt('$.candidate.jobDefinitionIndex')),
      jobQueueArn: queueArn,
      containerOverrides: { environment: trainingEnvironment },
      integrationPattern: sfn.IntegrationPattern.RUN_JOB,
      // Which queue trained it (the gate counts the on-demand fallbacks), and the job's attempts that ran, for the GPU
      // hours: a succeeded job's last attempt ran, so the filter always matches (only 2 numbers per attempt are kept).
      resultSelector: {
        'jobId.$': '$.JobId',
        'onDemand': queueArn !== spotQueueArn,
        'attempts': { [queueArn !== spotQueueArn ? 'onDemand' : 'spot']: attemptTimesOf('$') },
      },
      resultPath: '$.training',
    }), 'batch');
    const trainOnSpot = submitTraining('Train on spot', spotQueueArn);

    const submitEvaluation = (name: string, queueArn: string) => retryTransient(new tasks.BatchSubmitJob(this, name, {
      jobName: sfn.JsonPath.format('{}-evaluate', sfn.JsonPath.stringAt('$.candidate.name')),
      jobDefinitionArn: sfn.JsonPath.stringAt(revisions.revisionArnPath(evaluation)),
      jobQueueArn: queueArn,
      arraySize: evaluation.shards > 1 ? evaluation.shards : undefined,
      containerOverrides: {
        environment: {
          [ContainerContract.DATA_URI]: trainingEnvironment[ContainerContract.DATA_URI],
          [ContainerContract.DATA_VERSION]: trainingEnvironment[ContainerContract.DATA_VERSION],
          [ContainerContract.DATA_MANIFEST_URI]: trainingEnvironment[ContainerContract.DATA_MANIFEST_URI],
          [ContainerContract.MODEL_URI]: sfn.JsonPath.format('{}model.tar.gz', sfn.JsonPath.stringAt('$.trainingOutputUri')),
          [ContainerContract.OUTPUT_URI]: sfn.JsonPath.stringAt('$.evaluationOutputUri'),
          [ContainerContract.CANDIDATE]: sfn.JsonPath.stringAt('$.candidate.name'),
          [ContainerContract.CODE_VERSION]: sfn.JsonPath.stringAt('$.codeVersion'),
        },
      },
      integrationPattern: sfn.IntegrationPattern.RUN_JOB,
      // Which queue evaluated it: the gate counts the on-demand fallbacks of evaluations apart from training's.
      resultSelector: { 'jobId.$': '$.JobId', 'onDemand': queueArn !== evaluation.queue.jobQueue.jobQueueArn },
      resultPath: '$.evaluation',
    }), 'batch');
    const evaluate = submitEvaluation('Evaluate', evaluation.queue.jobQueue.jobQueueArn);

    const aggregate = retryTransient(new tasks.LambdaInvoke(this, 'Aggregate metrics', {
      lambdaFunction: fns.aggregate,
      payload: sfn.TaskInput.fromObject({
        'candidate.$': '$.candidate.name',
        'trainingOutputUri.$': '$.trainingOutputUri',
        'evaluationOutputUri.$': '$.evaluationOutputUri',
        'shards': evaluation.shards,
      }),
      payloadResponseOnly: true,
      retryOnServiceExceptions: false,
      resultPath: '$.metrics',
    }), 'lambda');
    aggregate.addCatch(summarizeFailure(this, 'Aggregation', 'lambda', ['training', 'evaluation'], aggregationFailed), { resultPath: '$.error' });
    const evaluatedFields = {
      'status': 'EVALUATED',
      'metrics.$': '$.metrics.metrics',
      'slices.$': '$.metrics.slices',
      'latencyMs.$': '$.metrics.latencyMs',
      'metricsUri.$': '$.metrics.metricsUri',
      'modelDataUrl.$': "States.Format('{}model.tar.gz', $.trainingOutputUri)",
      'trainingJobId.$': '$.training.jobId',
      'evaluationJobId.$': '$.evaluation.jobId',
    };
    // Which queue trained it describes this run, not the result: it is not remembered with it.
    const evaluated = outcome('Evaluated', {
      ...evaluatedFields, 'trainedOnDemand.$': '$.training.onDemand', 'evaluatedOnDemand.$': '$.evaluation.onDemand', 'trainingTime': trainedTime,
    });
    // Every evaluated candidate is remembered under its cache key, winner or not (only a winner becomes a model
    // package): the next run on the same images and data trains none of them. A record that cannot be written costs a
    // training next time, not this candidate.
    const remember = retryTransient(new tasks.LambdaInvoke(this, 'Remember the result', {
      lambdaFunction: fns.cache,
      payload: sfn.TaskInput.fromObject({
        remember: {
          'cacheKey.$': '$.cache.cacheKey',
          'outcome': { 'candidate.$': '$.candidate.name', 'configHash.$': '$.candidate.configHash', ...evaluatedFields },
        },
      }),
      payloadResponseOnly: true,
      retryOnServiceExceptions: false,
      resultPath: sfn.JsonPath.DISCARD,
    }), 'lambda');
    const notRemembered = new sfn.Pass(this, 'Result not remembered', {
      parameters: { 'error.$': '$.cacheRecordError.Error' },
      resultPath: '$.cacheRecordError',
    });
    remember.addCatch(notRemembered, { resultPath: '$.cacheRecordError' });
    remember.next(evaluated);
    notRemembered.next(evaluated);
    aggregate.next(new sfn.Choice(this, 'A cache key to remember it by?')
      .when(sfn.Condition.isPresent('$.cache.cacheKey'), remember)
      .otherwise(evaluated));

    // Spot could not finish the job: decided on the job's final status reason only (earlier attempts may have been
    // reclaimed and retried by Batch), parsed out of the error cause into $.failure.
    const spotGaveOut = sfn.Condition.or(
      sfn.Condition.stringMatches('$.failure.statusReason', `${CANCELLED_FOR_CAPACITY}*`),
      sfn.Condition.stringMatches('$.failure.statusReason', `${SPOT_RECLAIMED_PREFIX}*`),
    );
    const evaluationOnDemandArn = evaluation.queue.onDemandJobQueue?.jobQueueArn;
    if (evaluationOnDemandArn) {
      const evaluateOnDemand = submitEvaluation('Evaluate on demand', evaluationOnDemandArn);
      evaluateOnDemand.addCatch(summarizeFailure(this, ON_DEMAND_EVALUATION_STAGE, 'batch', ['training'], evaluationFailed), { resultPath: '$.error' });
      evaluateOnDemand.next(aggregate);
      evaluate.addCatch(summarizeFailure(this, 'Evaluation', 'batch', ['training'], new sfn.Choice(this, 'Evaluation spot gave out?')
        .when(spotGaveOut, evaluateOnDemand)
        .otherwise(evaluationFailed)), { resultPath: '$.error' });
    } else {
      evaluate.addCatch(summarizeFailure(this, 'Evaluation', 'batch', ['training'], evaluationFailed), { resultPath: '$.error' });
    }
    const judgeCandidate = evaluate.next(aggregate);

    if (onDemandQueueArn) {
      const trainOnDemand = submitTraining('Train on demand', onDemandQueueArn);
      trainOnDemand.addCatch(summarizeFailure(this, ON_DEMAND_TRAINING_STAGE, 'batch', ['spotAttempts'], onDemandTrainingFailed, true),
        { resultPath: '$.error' });
      // The spot job's attempts were billed too: kept aside before the on-demand job's failure summary replaces
      // $.failure, then put beside the on-demand job's in $.training.
      const keepSpotAttempts = new sfn.Pass(this, 'Keep the spot attempts', { inputPath: '$.failure.attemptTimes', resultPath: '$.spotAttempts' });
      const withSpotAttempts = new sfn.Pass(this, 'Count the spot attempts too', {
        parameters: { 'spot.$': '$.spotAttempts', 'onDemand.$': '$.training.attempts.onDemand' },
        resultPath: '$.training.attempts',
      });
      trainOnSpot.addCatch(summarizeFailure(this, 'Training', 'batch', [], new sfn.Choice(this, 'Spot gave out?')
        .when(spotGaveOut, keepSpotAttempts.next(trainOnDemand).next(withSpotAttempts).next(evaluate))
        .otherwise(trainingFailed), true), { resultPath: '$.error' });
    } else {
      trainOnSpot.addCatch(summarizeFailure(this, 'Training', 'batch', [], trainingFailed, true), { resultPath: '$.error' });
    }
    trainOnSpot.next(judgeCandidate);
    cacheUnavailable.next(trainOnSpot);

    const perCandidate = checkCache.next(
      new sfn.Choice(this, 'Already trained?')
        .when(sfn.Condition.booleanEquals('$.cache.hit', true), reuse)
        .otherwise(trainOnSpot),
    );

    const eachCandidate = new sfn.Map(this, 'Each candidate', {
      itemsPath: '$.candidates',
      maxConcurrency: props.maxConcurrency ?? props.candidates.length,
      itemSelector: {
        ...candidateItem(props.candidates.some((c) => Token.isUnresolved(c.name) || hasTokens(c.hyperparameters)), candidateFields),
        'codeVersion.$': '$.codeVersion',
        'trainingImageUri.$': '$.trainingImageUri',
        'evaluationImageUri.$': '$.evaluationImageUri',
        // Only the revision ARNs travel into each branch (the by-source map is not needed there).
        'jobDefinitions': { 'revisionArns.$': '$.jobDefinitions.revisionArns' },
        'dataVersion.$': '$.dataVersion',
        'trainingOutputUri.$': `States.Format('s3://${models}/runs/{}/{}/', $$.Execution.Name, $$.Map.Item.Value.name)`,
        'evaluationOutputUri.$': `States.Format('s3://${models}/evaluations/{}/{}/', $$.Execution.Name, $$.Map.Item.Value.name)`,
        'checkpointUri.$': `States.Format('s3://${checkpoints}/runs/{}/{}/', $$.Execution.Name, $$.Map.Item.Value.name)`,
      },
      resultPath: '$.outcomes',
    });
    eachCandidate.itemProcessor(perCandidate);

    // 3. The champion, the gate, and the winner's registration.
    const gateTask = retryTransient(new tasks.LambdaInvoke(this, 'Quality gate', {
      lambdaFunction: fns.gate,
      payload: sfn.TaskInput.fromObject({ 'outcomes.$': '$.outcomes', 'champion.$': '$.champion' }),
      // Also publishes the run's training metrics (cdk-mlops/Training) from these outcomes.
      payloadResponseOnly: true,
      retryOnServiceExceptions: false,
      resultPath: '$.decision',
    }), 'lambda');
    // null when the group has no approved model yet: the first model has no champion to beat.
    const findChampion = retryTransient(new tasks.LambdaInvoke(this, 'Find the champion', {
      lambdaFunction: fns.champion,
      payload: sfn.TaskInput.fromObject({ allowNone: true }),
      payloadResponseOnly: true,
      retryOnServiceExceptions: false,
      resultPath: '$.champion',
    }), 'lambda');

    const register = retryTransient(new tasks.LambdaInvoke(this, 'Register the winner', {
      lambdaFunction: fns.register,
      payload: sfn.TaskInput.fromObject({
        'winner.$': '$.decision.winner',
        'codeVersion.$': '$.codeVersion',
        'trainingImageUri.$': '$.trainingImageUri',
        'evaluationImageUri.$': '$.evaluationImageUri',
        'dataVersion.$': '$.dataVersion',
        'executionId.$': '$$.Execution.Id',
        'trigger.$': '$.trigger',
      }),
      payloadResponseOnly: true,
      retryOnServiceExceptions: false,
      resultPath: '$.registration',
    }), 'lambda');
    const succeed = new sfn.Succeed(this, 'Winner registered');
    const verdict = new sfn.Choice(this, 'A winner?')
      .when(sfn.Condition.isPresent('$.decision.winner'), register.next(succeed))
      .otherwise(new sfn.Fail(this, 'No candidate passed the gate', { error: 'QualityGateFailed', causePath: '$.decision.summary' }));

    candidates.next(eachCandidate).next(findChampion).next(gateTask).next(verdict);
    return start;
  }

  /**
   * What a `.sync` Batch task needs besides SubmitJob (which aws-cdk-lib grants on the queue and the job
   * definitions, with the events actions): DescribeJobs to follow the job, TerminateJob so that a stopped or
   * timed-out execution stops its jobs (Step Functions developer guide, "IAM policies for AWS Batch": both on "*").
   */
  private grantBatchSyncJobs(): void {
    this.stateMachine.addToRolePolicy(new iam.PolicyStatement({
      actions: ['batch:DescribeJobs', 'batch:TerminateJob'],
      resources: ['*'],
    }));
  }

  private acknowledgeStateMachineRole(fns: ReturnType<TrainingWorkflow['createFunctions']>, revisions: JobDefinitionRevisions): void {
    const policy = this.stateMachine.role.node.tryFindChild('DefaultPolicy');
    if (!policy) return;
    const functionVersions: Record<string, NagReason> = {};
    const invoked = [fns.cache, fns.aggregate, fns.gate, fns.register, fns.champion, revisions.function,
      ...(fns.snapshot ? [fns.snapshot.function] : [])];
    for (const fn of invoked) {
      functionVersions[`AwsSolutions-IAM5[Resource::${nagResourceId(this, `${fn.functionArn}:*`)}]`] =
        REASONS.lambda.invokedFunctionVersions;
    }
    acknowledge(policy, {
      ...functionVersions,
      [`AwsSolutions-IAM5[Resource::${nagArnId(this, { service: 'batch', resource: 'job-definition', resourceName: '*' })}]`]:
        REASONS.batch.runTimeRevisions,
      'AwsSolutions-IAM5[Resource::*]': REASONS.stepFunctions.logsTracingAndBatchSync,
      ...INLINE_ROLE_POLICY,
    });
  }
}

/**
 * The states that reduce a caught error (`$.error`: `{ Error, Cause }`) to a small summary in `$.failure`, then go
 * to `next`. A failed Batch `.sync` job's Cause is the whole job description as a JSON string, several KB with every
 * attempt; a Lambda function error's is `{ errorType, errorMessage, trace }`. Only the parts a person or the
 * "spot gave out" choice needs are kept: the job id, the job's final status reason, the number of attempts and
 * the final exit code, or the function's error type and message (and, with `attemptTimes`, the start and stop
 * times of the job's attempts that ran, for the GPU hours). Any other cause (a service error after the retries) is
 * short text, kept with its error name. `keep` names the fields of the state the outcome after `next` still reads.
 */
function summarizeFailure(
  scope: Construct,
  stage: string,
  kind: 'batch' | 'lambda',
  keep: readonly string[],
  next: sfn.IChainable,
  attemptTimes = false,
): sfn.IChainable {
  // A failed training job's attempts that ran (GPU time); none known when the cause is not a job description.
  const none: { startedAt: number[]; stoppedAt: number[] } = { startedAt: [], stoppedAt: [] };
  const noAttempts = attemptTimes ? { attemptTimes: none } : {};
  const text = new sfn.Pass(scope, `${stage} error`, {
    parameters: {
      'stage': stage,
      'error.$': '$.error.Error',
      'statusReason.$': '$.error.Cause',
      'text.$': `States.Format('${stage} failed: {} ({})', $.error.Cause, $.error.Error)`,
      ...noAttempts,
    },
    resultPath: '$.failure',
  });
  // Defaults for the fields the summary reads, so that a description without them still gives a summary (a Pass
  // state has no Catch: a missing path there would fail the execution).
  const defaults = kind === 'batch'
    ? { JobId: 'unknown', StatusReason: 'Batch gave no status reason', Attempts: [], Container: {} }
    : { errorType: 'Error', errorMessage: 'the function gave no message' };
  const parse = new sfn.Pass(scope, `${stage} cause`, {
    parameters: { 'defaults': defaults, 'containerDefaults': { ExitCode: 'none' }, 'parsed.$': 'States.StringToJson($.error.Cause)' },
    resultPath: '$.cause',
  });
  const merge = new sfn.Pass(scope, `${stage} details`, {
    parameters: { 'containerDefaults.$': '$.cause.containerDefaults', 'details.$': 'States.JsonMerge($.cause.defaults, $.cause.parsed, false)' },
    resultPath: '$.cause',
  });
  // The job's container is its final attempt's: it has no ExitCode when no container ran (cancelled in RUNNABLE).
  const container = new sfn.Pass(scope, `${stage} container`, {
    parameters: { 'details.$': '$.cause.details', 'container.$': 'States.JsonMerge($.cause.containerDefaults, $.cause.details.Container, false)' },
    resultPath: '$.cause',
  });
  const summary = new sfn.Pass(scope, `${stage} summary`, {
    parameters: kind === 'batch'
      ? {
        'stage': stage,
        'error.$': '$.error.Error',
        'jobId.$': '$.cause.details.JobId',
        'statusReason.$': '$.cause.details.StatusReason',
        'attempts.$': 'States.ArrayLength($.cause.details.Attempts)',
        'exitCode.$': '$.cause.container.ExitCode',
        'text.$': `States.Format('${stage} failed: {} (job {}, {} attempts)', $.cause.details.StatusReason, $.cause.details.JobId, ` +
          'States.ArrayLength($.cause.details.Attempts))',
        ...(attemptTimes ? { 'attemptTimes.$': '$.cause.attemptTimes' } : {}),
      }
      : {
        'stage': stage,
        'error.$': '$.cause.details.errorType',
        'statusReason.$': '$.cause.details.errorMessage',
        'text.$': `States.Format('${stage} failed: {} ({})', $.cause.details.errorMessage, $.cause.details.errorType)`,
      },
    resultPath: '$.failure',
  });
  // The error and the cause are dropped once summarized: they are the large part of a failure.
  const drop = new sfn.Pass(scope, `${stage} failure`, {
    parameters: {
      'candidate.$': '$.candidate',
      'codeVersion.$': '$.codeVersion',
      // The on-demand retries submit with the same revisions, and their result is remembered under the same key.
      'jobDefinitions.$': '$.jobDefinitions',
      'cache.$': '$.cache',
      'dataVersion.$': '$.dataVersion',
      'trainingOutputUri.$': '$.trainingOutputUri',
      'evaluationOutputUri.$': '$.evaluationOutputUri',
      'checkpointUri.$': '$.checkpointUri',
      // What the stage's outcome still reads: the training result, the evaluation's queue, the spot job's attempts.
      ...Object.fromEntries(keep.map((field) => [`${field}.$`, `$.${field}`])),
      'failure.$': '$.failure',
    },
  });
  const isJson = sfn.Condition.and(
    sfn.Condition.stringMatches('$.error.Cause', '{*'),
    kind === 'batch' ? sfn.Condition.stringEquals('$.error.Error', 'States.TaskFailed') : sfn.Condition.isPresent('$.error.Error'),
  );
  if (kind === 'batch' && attemptTimes) {
    // The filter below would match nothing when no attempt ran (a job cancelled in RUNNABLE, or every attempt failed
    // before RUNNING): the Choice keeps the path from meeting that case (Step Functions does not document what an
    // indefinite path that matches nothing gives). Batch makes at most 10 attempts of a job (Batch API Reference,
    // RetryStrategy: "between 1 and 10 attempts"), so looking at the first 10 sees every one.
    const ran = sfn.Condition.or(...Array.from({ length: 10 }, (_, i) => sfn.Condition.isPresent(`$.cause.details.Attempts[${i}].StartedAt`)));
    const times = new sfn.Pass(scope, `${stage} attempt times`, { parameters: attemptTimesOf('$.cause.details'), resultPath: '$.cause.attemptTimes' });
    const noneRan = new sfn.Pass(scope, `${stage} no attempt ran`, { result: sfn.Result.fromObject(none), resultPath: '$.cause.attemptTimes' });
    times.next(summary);
    noneRan.next(summary);
    parse.next(merge).next(container).next(new sfn.Choice(scope, `${stage}: did an attempt run?`).when(ran, times).otherwise(noneRan));
    summary.next(drop);
  } else if (kind === 'batch') {
    parse.next(merge).next(container).next(summary).next(drop);
  } else {
    parse.next(merge).next(summary).next(drop);
  }
  text.next(drop);
  drop.next(next);
  const bare = new sfn.Pass(scope, `${stage} error without cause`, {
    parameters: {
      'stage': stage,
      'error.$': '$.error.Error',
      'statusReason.$': '$.error.Error',
      'text.$': `States.Format('${stage} failed: {}', $.error.Error)`,
      ...noAttempts,
    },
    resultPath: '$.failure',
  });
  bare.next(drop);
  return new sfn.Choice(scope, `${stage}: job or function error?`)
    .when(sfn.Condition.isNotPresent('$.error.Cause'), bare)
    .when(isJson, parse)
    .otherwise(text);
}

/**
 * The start and stop times of the attempts of the Batch job description at `job` that ran a container (epoch ms,
 * DescribeJobs AttemptDetail), as two arrays filtered alike so that they stay pairwise: about 30 bytes per attempt
 * instead of the attempts' whole descriptions. Filter paths are allowed in Parameters and ResultSelector (Step
 * Functions developer guide, "Using JSONPath paths": `$.jar[?(@.a >= 5)]`). The filter is on the start: in a finished
 * job every attempt that reached RUNNING has left it (stoppedAt), while an attempt that never ran may still carry a
 * stop time (the API reference does not say), which would shift the pairs.
 */
function attemptTimesOf(job: string): Record<string, string> {
  const ran = `${job}.Attempts[?(@.StartedAt > 0)]`;
  return { 'startedAt.$': `${ran}.StartedAt`, 'stoppedAt.$': `${ran}.StoppedAt` };
}

/**
 * What each branch of the Map gets as `$.candidate`. With a token in a name or in hyperparameters, the value is known
 * at deploy time only, so the configuration hash of the cache and the lineage is taken at run time over the synth-time
 * hash, the deployed name and hyperparameters (States.Hash): a new parameter value never reuses the model of an old one.
 */
function candidateItem(tokens: boolean, fields: string[]): Record<string, unknown> {
  if (!tokens) return { 'candidate.$': '$$.Map.Item.Value' };
  const candidate: Record<string, string> = Object.fromEntries(fields.map((field) => [`${field}.$`, `$$.Map.Item.Value.${field}`]));
  candidate['configHash.$'] =
    "States.Hash(States.Format('{} {} {}', $$.Map.Item.Value.configHash, $$.Map.Item.Value.name, $$.Map.Item.Value.hyperparameters), 'SHA-256')";
  return { candidate };
}

/** The command and static environment of a job definition's container, resolved (a token as its expression). */
function containerForHash(scope: Construct, job: MlJobDefinition): { command?: string[]; environment?: Record<string, string> } {
  const container = (job.jobDefinition as batch.EcsJobDefinition).container;
  const environment = container.environment ?? {};
  return Stack.of(scope).resolve({
    command: container.command,
    environment: Object.fromEntries(Object.keys(environment).sort().map((name) => [name, environment[name]])),
  });
}

function configHash(scope: Construct, candidate: TrainingCandidate, evaluationJob: MlJobDefinition): string {
  const job = candidate.trainingJob;
  const config = {
    // A token as its CloudFormation expression, the same at every synth; its deployed value is hashed at run time.
    name: Stack.of(scope).resolve(candidate.name),
    hyperparameters: hyperparametersForHash(scope, candidate.hyperparameters),
    vcpus: job.vcpus,
    memoryMiB: job.memory.toMebibytes(),
    gpus: job.gpus,
    jobDefinition: job.node.path,
    // What the containers run shapes the model and its metrics as much as the image does: a new command or
    // environment of the training or the evaluation job trains again.
    training: containerForHash(scope, job),
    evaluation: { jobDefinition: evaluationJob.node.path, shards: evaluationJob.shards, ...containerForHash(scope, evaluationJob) },
  };
  return crypto.createHash('sha256').update(JSON.stringify(config)).digest('hex');
}

