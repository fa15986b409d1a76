/**
 * What the README's snippets may take as given: the constructs a real app has around them, each a real construct in
 * the snippet's own stack, so a snippet is type-checked and synthesized as a user would paste it.
 */
import { Duration, Size, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as codebuild from 'aws-cdk-lib/aws-codebuild';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import {
  BatchNetwork, BucketPurpose, DataVersionSnapshot, EndpointSample, MlJobDefinition, ModelEndpoint, ModelImageRepository,
  ModelPackageGroup, SpotCpuQueue, SpotGpuQueue, TrainingImageBuild, TrainingWorkflow, VersionedBucket,
} from '../../lib';

export function readmeFixture(stack: Stack) {
  const data = new VersionedBucket(stack, 'FixtureData', { purpose: BucketPurpose.DATA });
  const artifacts = new VersionedBucket(stack, 'FixtureModels', { purpose: BucketPurpose.MODELS });
  const checkpoints = new VersionedBucket(stack, 'FixtureCheckpoints', { purpose: BucketPurpose.CHECKPOINTS });
  const dataSnapshot = new DataVersionSnapshot(stack, 'FixtureDataVersions', { bucket: data, dataPrefix: 'datasets/' });
  const servingImages = new ModelImageRepository(stack, 'FixtureServingImages');
  const trainingImages = new ModelImageRepository(stack, 'FixtureTrainingImages');
  const models = new ModelPackageGroup(stack, 'FixtureRegistry', { modelPackageGroupName: 'fixture' });
  const network = new BatchNetwork(stack, 'FixtureNetwork');
  const gpus = new SpotGpuQueue(stack, 'FixtureGpus', { network });
  const cpus = new SpotCpuQueue(stack, 'FixtureCpus', { network });
  const image = ecs.ContainerImage.fromEcrRepository(trainingImages.repository, 'fixture');
  const gradientBoosting = MlJobDefinition.training(stack, 'FixtureXgb', { queue: gpus, image });
  const neuralNetwork = MlJobDefinition.training(stack, 'FixtureMlp', { queue: gpus, image, vcpus: 8, memory: Size.gibibytes(30) });
  const evaluate = MlJobDefinition.evaluation(stack, 'FixtureEvaluate', { queue: cpus, image, shards: 2, vcpus: 2, memory: Size.gibibytes(4) });
  const imageUri = servingImages.uriForDigest(`sha256:${'a'.repeat(64)}`);
  const training = new TrainingWorkflow(stack, 'FixtureTraining', {
    candidates: [{ name: 'xgboost', trainingJob: gradientBoosting }],
    evaluationJob: evaluate,
    modelPackageGroup: models,
    trainingImageRepository: trainingImages,
    dataBucket: data,
    modelBucket: artifacts,
    checkpointBucket: checkpoints,
    dataSnapshot,
    inferenceImageUri: servingImages.uriForTag('base'),
    gate: { primaryMetric: 'auc', thresholds: [{ metric: 'auc', min: 0.8 }] },
  });
  // The pipeline's Build stage: the training image from the commit, on the workflow's repository.
  const trainingImageBuild = new TrainingImageBuild(stack, 'FixtureTrainingImageBuild', { repository: trainingImages });
  const staging = new ModelEndpoint(stack, 'FixtureStaging', { imageRepository: servingImages, serverless: { memory: Size.gibibytes(2), maxConcurrency: 5 } });
  const production = new ModelEndpoint(stack, 'FixtureProduction', { imageRepository: servingImages, production: true, instanceType: 'ml.c6i.large' });
  const samples: EndpointSample[] = [{ name: 'typical', body: '{"x": [1, 2]}' }];
  const role = (id: string, service: string) => new iam.Role(stack, id, { assumedBy: new iam.ServicePrincipal(service) });
  const fn = new lambda.Function(stack, 'FixtureApi', {
    runtime: lambda.Runtime.NODEJS_24_X, handler: 'index.handler', code: lambda.Code.fromInline('exports.handler = async () => ({});'),
  });
  return {
    data,
    artifacts,
    checkpoints,
    dataSnapshot,
    servingImages,
    trainingImages,
    models,
    image,
    gradientBoosting,
    neuralNetwork,
    evaluate,
    imageUri,
    training,
    trainingImageBuild,
    staging,
    production,
    samples,
    digest: `sha256:${'b'.repeat(64)}`,
    connectionArn: 'arn:aws:codeconnections:eu-west-1:111122223333:connection/0a1b2c3d-4e5f-6789-abcd-ef0123456789',
    replicaKeyArn: 'arn:aws:kms:eu-central-1:111122223333:key/0a1b2c3d-4e5f-6789-abcd-ef0123456789',
    lakeKey: new kms.Key(stack, 'FixtureLakeKey', { enableKeyRotation: true }),
    trainingRole: role('FixtureTrainingRole', 'ecs-tasks.amazonaws.com'),
    releaseRole: role('FixtureReleaseRole', 'codebuild.amazonaws.com'),
    sagemakerExecutionRole: role('FixtureSageMakerRole', 'sagemaker.amazonaws.com'),
    imageBuildProject: new codebuild.PipelineProject(stack, 'FixtureBuild'),
    stateMachine: new sfn.StateMachine(stack, 'FixtureStateMachine', {
      definitionBody: sfn.DefinitionBody.fromChainable(new sfn.Pass(stack, 'FixturePass')), timeout: Duration.minutes(5),
    }),
    businessKpiAlarm: new cloudwatch.Alarm(stack, 'FixtureKpi', {
      metric: new cloudwatch.Metric({ namespace: 'Fixture', metricName: 'Conversions' }), threshold: 1, evaluationPeriods: 1,
    }),
    api: fn,
  };
}

export type ReadmeFixture = ReturnType<typeof readmeFixture>;
