import { ArnFormat, Duration, Stack } from 'aws-cdk-lib';
import * as codebuild from 'aws-cdk-lib/aws-codebuild';
import * as codepipeline from 'aws-cdk-lib/aws-codepipeline';
import * as actions from 'aws-cdk-lib/aws-codepipeline-actions';
import * as notifications from 'aws-cdk-lib/aws-codestarnotifications';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { CheckStageOptions } from './check-stage-options';
import { DataVersionTrigger } from './data-version-trigger';
import { DeploymentLedger } from './deployment-ledger';
import { PipelineSource } from './pipeline-source';
import { checkSecretWildcards, validateCheckOptions } from './private/check-validation';
import { grantConnectionToClones } from './private/connection-use';
import { validateDataPrefix, validateMarkerSuffix } from './private/data-location';
import { startOnNewSourceZip } from './private/s3-source-trigger';
import { TrainingImageBuild } from './training-image-build';
import { acknowledge } from '../private/acknowledge';
import { alertsTopic } from '../private/alerts-topic';
import { BUILD_IMAGE } from '../private/build-image';
import { CODEBUILD_SOURCE_IS_THE_PIPELINE, INLINE_ROLE_POLICY } from '../private/common-findings';
import { DATA_PREFIX_VARIABLE, DEFAULT_PIPELINE_TRIGGER, TRIGGER_VARIABLE } from '../private/contract/data-trigger';
import { acknowledgeGrantWildcards, WildcardReason } from '../private/grant-wildcards';
import { encryptedLogGroup } from '../private/log-group';
import { REASONS } from '../private/nag-reasons';
import { nagResourceId } from '../private/nag-resource';
import { MlOpsValidationError } from '../private/validation';
import { EndpointDeployment } from '../serving/endpoint-deployment';
import { EndpointTestRunner } from '../serving/endpoint-test-runner';
import { EphemeralEndpointTest } from '../serving/ephemeral-endpoint-test';
import { ServingImageBuild } from '../serving/serving-image-build';
import { ShadowTest } from '../serving/shadow-test';
import { BucketPurpose } from '../storage/bucket-purpose';
import { bucketInput } from '../storage/private/bucket-input';
import { IVersionedBucket, VersionedBucket } from '../storage/versioned-bucket';
import { TrainingWorkflow } from '../workflow/training-workflow';

/** A short training on a data sample in the Check stage: a broken training script fails in minutes, not hours. */
export interface SmokeTrainingOptions {
  /** The bucket that holds the sample. */
  readonly sampleBucket: s3.IBucketRef;
  /**
   * The sample's key prefix (a few MB of representative data), copied to `$DATA_SAMPLE_DIR` (`smoke/data-sample` in
   * the source root) before the commands run.
   */
  readonly samplePrefix: string;
  /**
   * The commands, run in the source's root after the copy, e.g.
   * `['pip install -r requirements.txt', 'python train.py --data "$DATA_SAMPLE_DIR" --epochs 1 --output smoke/model']`.
   */
  readonly commands: string[];
  /**
   * The build's compute type (CPU: a smoke run checks that training runs, not how well).
   * @default codebuild.ComputeType.MEDIUM
   */
  readonly computeType?: codebuild.ComputeType;
  /**
   * The longest the smoke training may take.
   * @default Duration.minutes(20)
   */
  readonly timeout?: Duration;
}

/** Props for {@link MlPipeline}. */
export interface MlPipelineProps {
  /** Where the training and serving code comes from. */
  readonly source: PipelineSource;
  /** The Train stage: trains, evaluates, gates and registers, on the images the Build stage exported. */
  readonly training: TrainingWorkflow;
  /**
   * The Build stage, between Check and Train: builds the training (and evaluation) image from the commit, or reuses
   * the one of the same content, and hands its digest to Train. It must push to the training workflow's
   * `trainingImageRepository`.
   */
  readonly trainingImageBuild: TrainingImageBuild;
  /** The Package stage: bakes the registered model and the serving code into one image. */
  readonly imageBuild: ServingImageBuild;
  /**
   * The Staging stage: deploys the image to the always-on staging endpoint (give `stagingTest` too).
   * @default - none: give `ephemeralStaging` instead
   */
  readonly stagingDeployment?: EndpointDeployment;
  /**
   * The Staging stage: tests the always-on staging endpoint (contract and latency budget) after `stagingDeployment`.
   * @default - none: give `ephemeralStaging` instead
   */
  readonly stagingTest?: EndpointTestRunner;
  /**
   * The Staging stage with a staging endpoint that exists only for its test (created, tested and deleted in one
   * action), so staging costs nothing while idle. Instead of `stagingDeployment` and `stagingTest`.
   * @default - none: give `stagingDeployment` and `stagingTest`
   */
  readonly ephemeralStaging?: EphemeralEndpointTest;
  /** The Production stage: deploys the image to the production endpoint (canary / linear, alarm rollback). */
  readonly productionDeployment: EndpointDeployment;
  /** Records every production deployment. */
  readonly ledger: DeploymentLedger;
  /**
   * Before the Production deployment, run the new image as a shadow of the production endpoint and fail the stage
   * (nothing deployed) when it is worse on errors or latency. The shadow test never changes what production serves.
   * @default - no shadow phase
   */
  readonly shadowTest?: ShadowTest;
  /** The data to train on: the `DATA_PREFIX` pipeline variable's default (a prefix of the data bucket). */
  readonly dataPrefix: string;
  /**
   * A bucket whose new data versions under `dataPrefix` start the pipeline: a marker object (ending in
   * `dataTriggerSuffix`) starts a run that trains on the marker's folder (the `DATA_PREFIX` variable).
   * See {@link DataVersionTrigger}.
   * @default - only code changes start the pipeline
   */
  readonly dataTriggerBucket?: s3.IBucketRef;
  /**
   * The key suffix of the object that marks a complete new data version: a marker, not every data file, or each
   * file of an upload would start a run.
   * @default '_SUCCESS'
   */
  readonly dataTriggerSuffix?: string;
  /**
   * The Check stage's commands, run in the source's root (fail fast: unit tests, lint, data validation).
   * @default ['pip install -r requirements.txt', 'python -m pytest -q']
   */
  readonly checkCommands?: string[];
  /**
   * How the Check stage's build runs: image, compute type, timeout, environment variables and secrets.
   * @default - the library's build image, SMALL, 30 minutes, no variables
   */
  readonly checkOptions?: CheckStageOptions;
  /**
   * Also run a short training on a data sample in the Check stage, beside the tests.
   * @default - no smoke training
   */
  readonly smokeTraining?: SmokeTrainingOptions;
  /**
   * A person approves between staging and production.
   * @default true
   */
  readonly manualApproval?: boolean;
  /**
   * Where pipeline failures and approval requests are announced.
   * @default - the stack's cdk-mlops alerts topic (KMS-encrypted)
   */
  readonly notificationTopic?: sns.ITopic;
  /**
   * The pipeline's name.
   * @default - generated by CloudFormation
   */
  readonly pipelineName?: string;
}

/** The pipeline variables that carry a run's lineage. */
export class PipelineVariables {
  /** The data prefix the run trains on. */
  public static readonly DATA_PREFIX = DATA_PREFIX_VARIABLE;
  /**
   * Why the run started: `push` (its default: a commit, or a start by hand), `data:<marker key>` (a new data version),
   * `drift:<alarm name>` or `schedule:<rule name>` (RetrainingTrigger). Recorded in the model package as `mlops:trigger`.
   */
  public static readonly TRIGGER = TRIGGER_VARIABLE;

  private constructor() {}
}

/**
 * From a commit or a new data version to production, in one CodePipeline (V2):
 *
 * Source -> Check (tests, lint, data validation; optionally a smoke training on a data sample) -> Build (the training
 * image from the commit, content-tagged: reused when the training code did not change) -> Train (TrainingWorkflow, on
 * that image's digest) -> Package (ServingImageBuild) -> Staging (deploy, then contract and latency test; or create an
 * on-demand endpoint, test it and delete it) -> Approval (optional) -> Production (canary / linear with alarm
 * rollback, then the deployment ledger).
 *
 * A new data version also starts a run (`dataTriggerBucket`): its marker's folder becomes the run's `DATA_PREFIX`
 * variable, which the Train stage passes to the workflow.
 *
 * Check, Build, Train and Package retry their failed actions on failure; Staging and Production roll back to the last
 * successful run's artifacts. The lineage travels in the action variables: the commit (`#{Source.CommitId}`), the
 * model package and its data version (`#{Package.MODEL_PACKAGE_ARN}`, `#{Package.DATA_VERSION_ID}`) and the image
 * by digest (`#{Package.IMAGE_URI}`); the ledger records them with the endpoint configuration that serves.
 *
 * @example
 * new MlPipeline(this, 'Pipeline', {
 *   source: PipelineSource.connection({ connectionArn, owner: 'acme', repository: 'fraud-model' }),
 *   training, trainingImageBuild, imageBuild, stagingDeployment, stagingTest, productionDeployment, ledger,
 *   dataPrefix: 'datasets/fraud/', dataTriggerBucket: data,
 * });
 */
export class MlPipeline extends Construct {
  /** The pipeline. */
  public readonly pipeline: codepipeline.Pipeline;
  /** The bucket of the pipeline's artifacts (KMS, versioned, access-logged). */
  public readonly artifactBucket: IVersionedBucket;
  /** The Check stage's build project. */
  public readonly checkProject: codebuild.PipelineProject;
  /** The Check stage's smoke training project, when `smokeTraining` is set. */
  public readonly smokeTrainingProject?: codebuild.PipelineProject;
  /** What starts a run on a new data version, when `dataTriggerBucket` is set. */
  public readonly dataTrigger?: DataVersionTrigger;

  constructor(scope: Construct, id: string, props: MlPipelineProps) {
    super(scope, id);
    this.validate(props);
    const topic = props.notificationTopic ?? alertsTopic(this);

    this.artifactBucket = new VersionedBucket(this, 'Artifacts', {
      purpose: BucketPurpose.custom('pipeline-artifacts', { expireAfter: Duration.days(30) }),
    });

    const source = new codepipeline.Artifact('Source');
    const { action: sourceAction, codeVersion, connectionArn, s3Source } = props.source._bind(this, source, 'Source');

    this.checkProject = new codebuild.PipelineProject(this, 'Check', {
      description: 'cdk-mlops: fail fast on the training and serving code (tests, lint, data validation)',
      environment: {
        buildImage: props.checkOptions?.buildImage ?? BUILD_IMAGE,
        computeType: props.checkOptions?.computeType ?? codebuild.ComputeType.SMALL,
      },
      encryptionKey: this.artifactBucket.encryptionKey,
      logging: { cloudWatch: { logGroup: encryptedLogGroup(this, 'CheckLogs') } },
      timeout: props.checkOptions?.timeout ?? Duration.minutes(30),
      environmentVariables: props.checkOptions?.environmentVariables,
      buildSpec: codebuild.BuildSpec.fromObject({
        version: '0.2',
        phases: { build: { commands: props.checkCommands ?? ['pip install -r requirements.txt', 'python -m pytest -q'] } },
      }),
    });

    if (props.smokeTraining) this.smokeTrainingProject = this.createSmokeTraining(props.smokeTraining);

    const deployInput = actions.StateMachineInput.literal({ imageUri: '#{Package.IMAGE_URI}', modelVersion: '#{Package.MODEL_VERSION}' });
    const retry: codepipeline.FailureConditions = { result: codepipeline.Result.RETRY, retryMode: codepipeline.RetryMode.FAILED_ACTIONS };
    const rollback: codepipeline.FailureConditions = { result: codepipeline.Result.ROLLBACK };

    this.pipeline = new codepipeline.Pipeline(this, 'Resource', {
      pipelineName: props.pipelineName,
      pipelineType: codepipeline.PipelineType.V2,
      executionMode: codepipeline.ExecutionMode.QUEUED,
      artifactBucket: this.artifactBucket.bucket,
      restartExecutionOnUpdate: false,
      variables: [new codepipeline.Variable({
        variableName: PipelineVariables.DATA_PREFIX,
        defaultValue: props.dataPrefix,
        description: 'The data prefix to train on (a new data version under it is taken at the start of training)',
      }), new codepipeline.Variable({
        variableName: PipelineVariables.TRIGGER,
        defaultValue: DEFAULT_PIPELINE_TRIGGER,
        description: 'Why the run started (push, data:<marker>, drift:<alarm>, schedule:<rule>): recorded in the model lineage',
      })],
      stages: [
        { stageName: 'Source', actions: [sourceAction] },
        {
          stageName: 'Check',
          actions: [
            new actions.CodeBuildAction({ actionName: 'TestsLintData', project: this.checkProject, input: source }),
            ...(this.smokeTrainingProject
              ? [new actions.CodeBuildAction({ actionName: 'SmokeTraining', project: this.smokeTrainingProject, input: source })]
              : []),
          ],
          onFailure: retry,
        },
        {
          stageName: 'Build',
          actions: [props.trainingImageBuild.buildAction({ input: source, sourceVersion: codeVersion, variablesNamespace: BUILD_NAMESPACE })],
          onFailure: retry,
        },
        {
          stageName: 'Train',
          actions: [new actions.StepFunctionInvokeAction({
            actionName: 'TrainEvaluateRegister',
            stateMachine: props.training.stateMachine,
            stateMachineInput: actions.StateMachineInput.literal({
              codeVersion,
              dataPrefix: `#{variables.${PipelineVariables.DATA_PREFIX}}`,
              trigger: `#{variables.${PipelineVariables.TRIGGER}}`,
              // By digest: the training cache keys on them, so a serving-only commit (same image) trains nothing.
              trainingImageUri: `#{${BUILD_NAMESPACE}.${TrainingImageBuild.TRAINING_IMAGE_URI_VARIABLE}}`,
              evaluationImageUri: `#{${BUILD_NAMESPACE}.${TrainingImageBuild.EVALUATION_IMAGE_URI_VARIABLE}}`,
            }),
            variablesNamespace: 'Train',
          })],
          onFailure: retry,
        },
        {
          stageName: 'Package',
          actions: [new actions.CodeBuildAction({
            actionName: 'BakeImage',
            project: props.imageBuild.project,
            input: source,
            environmentVariables: {
              TRAINING_EXECUTION_ARN: { value: '#{Train.ExecutionArn}' },
              // CodeBuild's CODEBUILD_RESOLVED_SOURCE_VERSION may be empty under CodePipeline: pass the commit.
              COMMIT_ID: { value: codeVersion },
            },
            variablesNamespace: 'Package',
          })],
          onFailure: retry,
        },
        { stageName: 'Staging', actions: this.stagingActions(props, deployInput), onFailure: rollback },
        ...((props.manualApproval ?? true) ? [{
          stageName: 'Approval',
          actions: [new actions.ManualApprovalAction({
            actionName: 'ApproveProduction',
            notificationTopic: topic,
            additionalInformation: 'Model version #{Package.MODEL_VERSION} (#{Package.IMAGE_URI}) passed staging.',
          })],
        }] : []),
        {
          stageName: 'Production',
          actions: [
            ...(props.shadowTest ? [new actions.StepFunctionInvokeAction({
              actionName: 'Shadow', stateMachine: props.shadowTest.stateMachine, stateMachineInput: deployInput, runOrder: 1,
            })] : []),
            new actions.StepFunctionInvokeAction({
              actionName: 'Deploy',
              stateMachine: props.productionDeployment.stateMachine,
              stateMachineInput: deployInput,
              runOrder: props.shadowTest ? 2 : 1,
            }),
            new actions.LambdaInvokeAction({
              actionName: 'RecordInLedger',
              lambda: props.ledger.recordFunction,
              runOrder: props.shadowTest ? 3 : 2,
              userParameters: {
                endpointName: props.productionDeployment.endpoint.endpointName,
                modelPackageArn: '#{Package.MODEL_PACKAGE_ARN}',
                imageUri: '#{Package.IMAGE_URI}',
                commit: codeVersion,
                dataVersionId: '#{Package.DATA_VERSION_ID}',
                pipelineExecutionId: '#{codepipeline.PipelineExecutionId}',
              },
            }),
          ],
          onFailure: rollback,
        },
      ],
    });

    if (connectionArn) grantConnectionToClones(this.pipeline, source, connectionArn);
    if (s3Source) startOnNewSourceZip(this, this.pipeline, s3Source, topic);

    // The image build reads the model package the training execution registered.
    const stack = Stack.of(this);
    const executions = stack.formatArn({
      service: 'states',
      resource: 'execution',
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      resourceName: `${props.training.stateMachine.stateMachineName}:*`,
    });
    iam.Grant.addToPrincipal({ grantee: props.imageBuild, actions: ['states:DescribeExecution'], resourceArns: [executions] });
    const buildPolicy = props.imageBuild.role.node.tryFindChild('DefaultPolicy');
    if (buildPolicy) {
      acknowledge(buildPolicy, {
        [`AwsSolutions-IAM5[Resource::${nagResourceId(this, executions)}]`]:
          REASONS.stepFunctions.trainingExecutions,
      });
    }

    if (props.dataTriggerBucket) {
      this.dataTrigger = new DataVersionTrigger(this, 'NewDataVersion', {
        bucket: props.dataTriggerBucket,
        prefix: props.dataPrefix,
        markerSuffix: props.dataTriggerSuffix,
        pipeline: this.pipeline,
        variableName: PipelineVariables.DATA_PREFIX,
        triggerVariableName: PipelineVariables.TRIGGER,
        alarmTopic: topic,
      });
    }

    new notifications.NotificationRule(this, 'Notifications', {
      source: this.pipeline,
      events: [
        'codepipeline-pipeline-pipeline-execution-failed',
        'codepipeline-pipeline-manual-approval-needed',
        'codepipeline-pipeline-pipeline-execution-succeeded',
      ],
      targets: [topic],
      detailType: notifications.DetailType.FULL,
    });

    this.acknowledgeGrants(props);
  }

  private validate(props: MlPipelineProps): void {
    validateDataPrefix(this, 'MlPipeline', 'dataPrefix', props.dataPrefix);
    if (props.shadowTest && props.shadowTest.endpoint !== props.productionDeployment.endpoint) {
      throw new MlOpsValidationError(this, 'MlPipeline', 'shadowTest', props.shadowTest.node.path,
        `Give a ShadowTest of the production endpoint (${props.productionDeployment.endpoint.node.path}): the shadow runs beside what Production deploys to.`);
    }
    if (!props.trainingImageBuild) {
      throw new MlOpsValidationError(this, 'MlPipeline', 'trainingImageBuild', undefined,
        'Give a TrainingImageBuild on the training workflow\'s trainingImageRepository: the Build stage makes the image Train runs.');
    }
    const built = props.trainingImageBuild.repository;
    const accepted = props.training.trainingImageRepository;
    const stack = Stack.of(this);
    if (built !== accepted && JSON.stringify(stack.resolve(built.repositoryUri)) !== JSON.stringify(stack.resolve(accepted.repositoryUri))) {
      throw new MlOpsValidationError(this, 'MlPipeline', 'trainingImageBuild', props.trainingImageBuild.node.path,
        `The build pushes to ${built.node.path}, but the training workflow runs images of ${accepted.node.path} only: give both the ` +
        'same repository.');
    }
    validateMarkerSuffix(this, 'MlPipeline', 'dataTriggerSuffix', props.dataTriggerSuffix);
    // CodeBuild accepts a build phase without commands and then fails every run.
    validateCheckOptions(this, props.checkOptions);
    if (props.checkCommands?.length === 0) {
      throw new MlOpsValidationError(this, 'MlPipeline', 'checkCommands', [],
        'Give at least one command (tests, lint, data validation), or leave checkCommands out for the defaults.');
    }
    const smoke = props.smokeTraining;
    if (smoke && smoke.commands.length === 0) {
      throw new MlOpsValidationError(this, 'MlPipeline', 'smokeTraining.commands', [],
        'Give the commands that train on "$DATA_SAMPLE_DIR", e.g. "python train.py --data \\"$DATA_SAMPLE_DIR\\" --epochs 1".');
    }
    if (smoke) validateDataPrefix(this, 'MlPipeline', 'smokeTraining.samplePrefix', smoke.samplePrefix);
    const alwaysOn = props.stagingDeployment !== undefined || props.stagingTest !== undefined;
    if (props.ephemeralStaging && alwaysOn) {
      throw new MlOpsValidationError(this, 'MlPipeline', 'ephemeralStaging', props.ephemeralStaging.node.path,
        'Give either ephemeralStaging (a staging endpoint created for each test) or stagingDeployment and stagingTest ' +
        '(an always-on staging endpoint), not both.');
    }
    if (!props.ephemeralStaging && (!props.stagingDeployment || !props.stagingTest)) {
      const missing = props.stagingDeployment ? 'stagingTest' : 'stagingDeployment';
      throw new MlOpsValidationError(this, 'MlPipeline', missing, undefined,
        'The Staging stage needs stagingDeployment and stagingTest (an always-on staging endpoint), or ephemeralStaging ' +
        '(an endpoint created for each test and deleted after it).');
    }
    const stagingEndpoint = props.ephemeralStaging?.endpoint ?? props.stagingDeployment?.endpoint;
    if (stagingEndpoint === props.productionDeployment.endpoint) {
      throw new MlOpsValidationError(this, 'MlPipeline', 'stagingDeployment', stagingEndpoint.endpointName,
        'Staging and production must be different endpoints: a staging test on the production endpoint tests nothing.');
    }
    if (props.stagingDeployment && props.stagingTest && props.stagingTest.endpoint !== props.stagingDeployment.endpoint) {
      throw new MlOpsValidationError(this, 'MlPipeline', 'stagingTest', props.stagingTest.node.path,
        `The staging test must call the endpoint the staging deployment updates (${props.stagingDeployment.endpoint.node.path}).`);
    }
  }

  /** A build that copies the sample to `$DATA_SAMPLE_DIR` and runs the smoke training commands. */
  private createSmokeTraining(options: SmokeTrainingOptions): codebuild.PipelineProject {
    const sampleBucket = bucketInput(this, 'SampleBucket', options.sampleBucket);
    const project = new codebuild.PipelineProject(this, 'SmokeTraining', {
      description: 'cdk-mlops: a short training on a data sample (fail fast before the GPU training)',
      environment: {
        buildImage: BUILD_IMAGE,
        computeType: options.computeType ?? codebuild.ComputeType.MEDIUM,
      },
      encryptionKey: this.artifactBucket.encryptionKey,
      logging: { cloudWatch: { logGroup: encryptedLogGroup(this, 'SmokeTrainingLogs') } },
      timeout: options.timeout ?? Duration.minutes(20),
      environmentVariables: { DATA_SAMPLE_DIR: { value: 'smoke/data-sample' } },
      buildSpec: codebuild.BuildSpec.fromObject({
        version: '0.2',
        phases: {
          pre_build: { commands: [`aws s3 cp --recursive --only-show-errors "${sampleBucket.s3UrlForObject(options.samplePrefix)}" "$DATA_SAMPLE_DIR"`] },
          build: { commands: options.commands },
        },
      }),
    });
    sampleBucket.grantRead(project, options.samplePrefix);
    acknowledge(project, CODEBUILD_SOURCE_IS_THE_PIPELINE);
    const policy = project.role?.node.tryFindChild('DefaultPolicy');
    if (policy) {
      acknowledge(policy, {
        [`AwsSolutions-IAM5[Resource::${nagResourceId(this, sampleBucket.bucket.arnForObjects(`${options.samplePrefix}*`))}]`]:
          REASONS.s3.smokeSample,
      });
    }
    return project;
  }

  /** Deploy then test an always-on staging endpoint, or create, test and delete an ephemeral one in one action. */
  private stagingActions(props: MlPipelineProps, deployInput: actions.StateMachineInput): codepipeline.IAction[] {
    if (props.ephemeralStaging) {
      return [new actions.StepFunctionInvokeAction({
        actionName: 'CreateTestDelete', stateMachine: props.ephemeralStaging.stateMachine, stateMachineInput: deployInput,
      })];
    }
    return [
      new actions.StepFunctionInvokeAction({
        actionName: 'Deploy', stateMachine: props.stagingDeployment!.stateMachine, stateMachineInput: deployInput, runOrder: 1,
      }),
      new actions.StepFunctionInvokeAction({
        actionName: 'ContractAndLatencyTest',
        stateMachine: props.stagingTest!.stateMachine,
        stateMachineInput: actions.StateMachineInput.literal({}),
        runOrder: 2,
      }),
    ];
  }

  /** The wildcards of aws-cdk-lib's pipeline grants, each with its reason (others are still reported). */
  private acknowledgeGrants(props: MlPipelineProps): void {
    const reasons: WildcardReason[] = [
      { pattern: /^s3:(GetObject|GetBucket|List|DeleteObject|Abort)\*$/, reason: REASONS.s3.pipelineArtifactActions },
      { pattern: /^kms:(GenerateDataKey|ReEncrypt)\*$/, reason: REASONS.kms.pipelineArtifactKey },
      { resource: this.artifactBucket.bucket.arnForObjects('*'), reason: REASONS.s3.pipelineArtifactObjects },
      { pattern: /:execution:.*:\*$/, reason: REASONS.codepipeline.stateMachineExecutions },
      { pattern: /^\*$/, reason: REASONS.codepipeline.actionsWithoutResources },
      { pattern: /:log-group:\/aws\/codebuild\//, reason: REASONS.codebuild.defaultLogGroupGrant },
      { pattern: /:report-group\//, reason: REASONS.codebuild.defaultReportGroupsGrant },
      { pattern: /\.Arn>:\*$/, reason: REASONS.lambda.invokedFunctionVersions },
      ...checkSecretWildcards(props.checkOptions),
    ];
    acknowledgeGrantWildcards(this, reasons, INLINE_ROLE_POLICY);
    acknowledgeGrantWildcards(props.imageBuild, reasons);
    acknowledgeGrantWildcards(props.trainingImageBuild, reasons);
    acknowledge(this.checkProject, CODEBUILD_SOURCE_IS_THE_PIPELINE);
  }
}

/** The namespace of the Build stage's variables. */
const BUILD_NAMESPACE = 'Build';

