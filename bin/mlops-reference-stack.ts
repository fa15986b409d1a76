import { CfnOutput, Duration, Size, Stack, StackProps } from 'aws-cdk-lib';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import { Construct } from 'constructs';
import {
  AlertSubscriptions,
  BatchNetwork,
  BucketPurpose,
  DataVersionSnapshot,
  DeploymentLedger,
  DeploymentPolicy,
  DriftMonitor,
  EndpointDeployment,
  EndpointTestRunner,
  LatencyPercentile,
  LatestApprovedModelLookup,
  MlJobDefinition,
  MlPipeline,
  ModelEndpoint,
  ModelImageRepository,
  ModelPackageGroup,
  PipelineSource,
  RetrainingTrigger,
  SpotCpuQueue,
  ServingImageBuild,
  SpendBudget,
  SpotGpuQueue,
  TrainingImageBuild,
  TrainingWorkflow,
  VersionedBucket,
} from '../lib';

/**
 * The reference deployment: every cdk-mlops construct wired with its defaults. Environment-agnostic, so it
 * synthesizes offline without credentials.
 */
export class MlOpsReferenceStack extends Stack {
  constructor(scope: Construct, id: string, props: StackProps = {}) {
    super(scope, id, props);

    // Storage: nothing here is deleted by `cdk destroy`.
    const data = new VersionedBucket(this, 'Data', { purpose: BucketPurpose.DATA });
    const modelArtifacts = new VersionedBucket(this, 'Models', { purpose: BucketPurpose.MODELS });
    const checkpoints = new VersionedBucket(this, 'Checkpoints', { purpose: BucketPurpose.CHECKPOINTS });
    const dataVersions = new DataVersionSnapshot(this, 'DataVersions', { bucket: data, dataPrefix: 'datasets/' });

    // Registries: serving images and model versions.
    const servingImages = new ModelImageRepository(this, 'ServingImages');
    const models = new ModelPackageGroup(this, 'ModelRegistry', {
      description: 'Reference model: every registered version with its lineage',
    });
    // Bakes the registered model and the serving code into one image, tests its contract, pushes it by digest.
    const imageBuild = new ServingImageBuild(this, 'ServingImageBuild', {
      repository: servingImages,
      modelPackageGroup: models,
      modelBucket: modelArtifacts,
    });
    new LatestApprovedModelLookup(this, 'Champion', { modelPackageGroup: models });

    // Compute: spot GPUs for training, spot CPUs (Fargate) for evaluation; both scale to zero.
    const network = new BatchNetwork(this, 'Network');
    const gpuQueue = new SpotGpuQueue(this, 'TrainingQueue', { network });
    const cpuQueue = new SpotCpuQueue(this, 'EvaluationQueue', { network });

    // The team's training / evaluation image (one image, two entry points: the starter's training/ directory).
    const trainingImages = new ModelImageRepository(this, 'TrainingImages');
    // The pipeline's Build stage builds it from the commit's training/ directory (content tag, reused when unchanged)
    // and the workflow runs each job on that digest; the job definitions' own image is a placeholder that never runs.
    const trainingImageBuild = new TrainingImageBuild(this, 'TrainingImageBuild', { repository: trainingImages, trainingDirectory: 'training' });
    const image = ecs.ContainerImage.fromEcrRepository(trainingImages.repository, 'placeholder-never-run');
    // One training job definition; the candidates are two approaches that differ in their hyperparameters. The
    // workflow grants the jobs the run, checkpoint and evaluation prefixes.
    const train = MlJobDefinition.training(this, 'Train', {
      queue: gpuQueue,
      image,
      command: ['python', '-m', 'train'],
      reads: [{ bucket: data, prefix: 'datasets/' }],
    });
    const evaluate = MlJobDefinition.evaluation(this, 'Evaluate', {
      queue: cpuQueue,
      image,
      command: ['python', '-m', 'evaluate'],
      vcpus: 2,
      memory: Size.gibibytes(4),
      shards: 8,
      reads: [{ bucket: data, prefix: 'datasets/' }],
    });

    // Workflow: train both in parallel, evaluate on 8 shards, gate, register the winner. The gate holds the
    // starter's model to its measured quality (AUC about 0.8, group gaps below 0.1).
    const training = new TrainingWorkflow(this, 'Training', {
      candidates: [
        { name: 'logreg', trainingJob: train, hyperparameters: { learning_rate: '0.1' } },
        { name: 'logreg-l2', trainingJob: train, hyperparameters: { learning_rate: '0.1', l2: '0.01' } },
      ],
      evaluationJob: evaluate,
      modelPackageGroup: models,
      trainingImageRepository: trainingImages,
      dataBucket: data,
      modelBucket: modelArtifacts,
      checkpointBucket: checkpoints,
      dataSnapshot: dataVersions,
      inferenceImageUri: servingImages.uriForTag('base'),
      gate: {
        primaryMetric: 'auc',
        thresholds: [{ metric: 'auc', min: 0.75 }, { metric: 'accuracy', min: 0.7 }],
        fairness: [{ metric: 'auc', maxGap: 0.1 }, { metric: 'true_positive_rate', maxGap: 0.1 }],
        latency: { percentile: LatencyPercentile.P99, max: Duration.millis(50) },
        championMargin: 0.005,
      },
    });

    // Serving: the pipeline's deployments create and update the endpoints with the image it built (by digest), so a
    // first deploy needs no image: a serverless staging endpoint (no idle cost) and a production endpoint with two
    // instances, canary deployments and alarm rollback.
    const staging = new ModelEndpoint(this, 'StagingEndpoint', {
      imageRepository: servingImages,
      serverless: { memory: Size.gibibytes(2), maxConcurrency: 5 },
    });
    const production = new ModelEndpoint(this, 'ProductionEndpoint', {
      imageRepository: servingImages,
      production: true,
      instanceType: 'ml.c6i.large',
      deploymentPolicy: DeploymentPolicy.canary({ canaryPercent: 10, canaryBakeTime: Duration.minutes(10) }),
      latencyThreshold: Duration.millis(300),
    });

    // The pipeline: commit or new data version -> checks -> training image -> training -> serving image -> staging test -> approval ->
    // production canary -> ledger. The code comes from a repository through a CodeConnections connection when the
    // context names one (`cdk deploy -c connectionArn=... -c repositoryOwner=... -c repositoryName=...`); otherwise
    // from a zip uploaded to a source bucket this stack creates, so a first deploy needs nothing that does not exist yet.
    const source = referenceSource(this);
    // A monthly cost budget: alerts on the alerts topic at 80% of actual and 100% of forecast spend (stops nothing).
    new SpendBudget(this, 'Budget', { limitUsd: 100 });

    const pipeline = new MlPipeline(this, 'Pipeline', {
      source,
      trainingImageBuild,
      training,
      imageBuild,
      stagingDeployment: new EndpointDeployment(this, 'StagingDeployment', { endpoint: staging }),
      stagingTest: new EndpointTestRunner(this, 'StagingTest', {
        endpoint: staging,
        samples: [{ name: 'typical', body: '{"features": [0.1, 0.2, 0.3]}' }],
        latencyBudget: { p99: Duration.millis(500) },
      }),
      productionDeployment: new EndpointDeployment(this, 'ProductionDeployment', { endpoint: production }),
      ledger: new DeploymentLedger(this, 'DeploymentLedger', { endpoints: [production] }),
      dataPrefix: 'datasets/',
      dataTriggerBucket: data,
      // A few minutes on a small sample catches a broken training script before the GPUs start.
      smokeTraining: {
        sampleBucket: data,
        samplePrefix: 'samples/',
        // The same entry points as the jobs, on the sample (the starter's README: "Smoke training").
        commands: [
          'MLOPS_DATA_URI="$PWD/$DATA_SAMPLE_DIR" MLOPS_HYPERPARAMETERS=\'{"epochs": "2"}\' python training/train.py --local smoke',
          'MLOPS_DATA_URI="$PWD/$DATA_SAMPLE_DIR" python training/evaluate.py --local smoke',
        ],
      },
    });

    // Monitoring: production's captured requests against the training data of the model it serves (nothing runs
    // without traffic); drift starts a retraining run on the latest data, at most once per 12 hours.
    const drift = new DriftMonitor(this, 'ProductionDrift', {
      endpoint: production,
      modelPackageGroup: models,
      modelBucket: modelArtifacts,
      dataBucket: data,
      // The starter's features (starter/data/train.csv without the id, the sensitive group and the label).
      features: ['age', 'income', 'debt_ratio', 'tenure_months', 'late_payments'],
    });
    new RetrainingTrigger(this, 'RetrainOnDrift', { pipeline: pipeline.pipeline, alarms: [drift.driftAlarm] });
    // People: `cdk deploy -c alertEmail=oncall@example.com` subscribes an address to the alerts topic.
    const alertEmail = this.node.tryGetContext('alertEmail');
    if (alertEmail) new AlertSubscriptions(this, 'AlertSubscriptions', { emails: [alertEmail] });
  }
}

/** The context keys that switch the reference app's source to a CodeConnections repository. */
export const SOURCE_CONTEXT = { connectionArn: 'connectionArn', owner: 'repositoryOwner', repository: 'repositoryName', branch: 'branch' } as const;

/** The zip in the source bucket that starts a run (`aws s3 cp starter.zip s3://<SourceBucketName>/source/code.zip`). */
export const SOURCE_OBJECT_KEY = 'source/code.zip';

function referenceSource(scope: Stack): PipelineSource {
  const context = (key: string): string | undefined => scope.node.tryGetContext(key);
  const connectionArn = context(SOURCE_CONTEXT.connectionArn);
  if (connectionArn) {
    const owner = context(SOURCE_CONTEXT.owner);
    const repository = context(SOURCE_CONTEXT.repository);
    if (!owner || !repository) {
      throw new Error(`MlOpsReferenceStack: the context '${SOURCE_CONTEXT.connectionArn}' needs '${SOURCE_CONTEXT.owner}' and ` +
        `'${SOURCE_CONTEXT.repository}' too (for example -c ${SOURCE_CONTEXT.owner}=acme -c ${SOURCE_CONTEXT.repository}=fraud-model).`);
    }
    return PipelineSource.connection({ connectionArn, owner, repository, branch: context(SOURCE_CONTEXT.branch) });
  }
  const bucket = new VersionedBucket(scope, 'Source', { purpose: BucketPurpose.SOURCE });
  new CfnOutput(scope, 'SourceBucketName', {
    value: bucket.bucketName,
    description: `Upload a zip of your repository to s3://<this bucket>/${SOURCE_OBJECT_KEY} to start a run.`,
  });
  return PipelineSource.s3({ bucket: bucket.bucket, objectKey: SOURCE_OBJECT_KEY });
}
