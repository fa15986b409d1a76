/**
 * The reference app's layers in four stacks, as platform teams split them (data, training, serving, delivery),
 * wired by cross-stack references.
 */
import { App, Duration, Size, Stack, StackProps } from 'aws-cdk-lib';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import {
  BatchNetwork, BucketPurpose, DataVersionSnapshot, DeploymentLedger, DeploymentPolicy, EndpointDeployment, EndpointTestRunner,
  MlJobDefinition, MlPipeline, ModelEndpoint, ModelImageRepository, ModelPackageGroup, PipelineSource, ServingImageBuild,
  SpotCpuQueue, SpotGpuQueue, TrainingImageBuild, TrainingWorkflow, VersionedBucket,
} from '../../lib';

export function splitStacks(app: App, props: StackProps = {}): Stack[] {
  const dataStack = new Stack(app, 'Data', props);
  const data = new VersionedBucket(dataStack, 'Data', { purpose: BucketPurpose.DATA });
  const artifacts = new VersionedBucket(dataStack, 'Models', { purpose: BucketPurpose.MODELS });
  const checkpoints = new VersionedBucket(dataStack, 'Checkpoints', { purpose: BucketPurpose.CHECKPOINTS });
  const snapshot = new DataVersionSnapshot(dataStack, 'DataVersions', { bucket: data, dataPrefix: 'datasets/' });
  const servingImages = new ModelImageRepository(dataStack, 'ServingImages');
  const trainingImages = new ModelImageRepository(dataStack, 'TrainingImages');
  const models = new ModelPackageGroup(dataStack, 'Registry');

  const trainingStack = new Stack(app, 'Training', props);
  const network = new BatchNetwork(trainingStack, 'Network');
  const gpus = new SpotGpuQueue(trainingStack, 'Gpus', { network });
  const cpus = new SpotCpuQueue(trainingStack, 'Cpus', { network });
  const image = ecs.ContainerImage.fromEcrRepository(trainingImages.repository, 'placeholder-never-run');
  const train = MlJobDefinition.training(trainingStack, 'Train', { queue: gpus, image, reads: [{ bucket: data, prefix: 'datasets/' }] });
  const evaluate = MlJobDefinition.evaluation(trainingStack, 'Evaluate', {
    queue: cpus, image, shards: 4, vcpus: 2, memory: Size.gibibytes(4), reads: [{ bucket: data, prefix: 'datasets/' }],
  });
  const training = new TrainingWorkflow(trainingStack, 'Workflow', {
    candidates: [{ name: 'logreg', trainingJob: train }, { name: 'logreg-l2', trainingJob: train, hyperparameters: { l2: '0.01' } }],
    evaluationJob: evaluate,
    modelPackageGroup: models,
    dataBucket: data,
    modelBucket: artifacts,
    checkpointBucket: checkpoints,
    dataSnapshot: snapshot,
    trainingImageRepository: trainingImages,
    inferenceImageUri: servingImages.uriForTag('base'),
    gate: { primaryMetric: 'auc', thresholds: [{ metric: 'auc', min: 0.75 }] },
  });

  const servingStack = new Stack(app, 'Serving', props);
  const staging = new ModelEndpoint(servingStack, 'Staging', { imageRepository: servingImages, serverless: { memory: Size.gibibytes(2), maxConcurrency: 5 } });
  const production = new ModelEndpoint(servingStack, 'Production', {
    imageRepository: servingImages,
    production: true,
    instanceType: 'ml.c6i.large',
    deploymentPolicy: DeploymentPolicy.canary({ canaryPercent: 10, canaryBakeTime: Duration.minutes(10) }),
  });
  const toStaging = new EndpointDeployment(servingStack, 'ToStaging', { endpoint: staging });
  const stagingTest = new EndpointTestRunner(servingStack, 'StagingTest', { endpoint: staging, samples: [{ name: 'typical', body: '{"x": 1}' }] });
  const toProduction = new EndpointDeployment(servingStack, 'ToProduction', { endpoint: production });

  const deliveryStack = new Stack(app, 'Delivery', props);
  new MlPipeline(deliveryStack, 'Pipeline', {
    source: PipelineSource.connection({
      connectionArn: 'arn:aws:codeconnections:eu-west-1:111111111111:connection/0a1b2c3d-4e5f-6789-abcd-ef0123456789',
      owner: 'acme',
      repository: 'fraud-model',
    }),
    trainingImageBuild: new TrainingImageBuild(deliveryStack, 'TrainingImage', { repository: trainingImages, trainingDirectory: 'training' }),
    training,
    imageBuild: new ServingImageBuild(deliveryStack, 'ServingImage', { repository: servingImages, modelPackageGroup: models, modelBucket: artifacts }),
    stagingDeployment: toStaging,
    stagingTest,
    productionDeployment: toProduction,
    ledger: new DeploymentLedger(deliveryStack, 'Ledger', { endpoints: [production] }),
    dataPrefix: 'datasets/',
    dataTriggerBucket: data,
  });
  return [dataStack, trainingStack, servingStack, deliveryStack];
}
