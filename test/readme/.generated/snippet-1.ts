import { App, CfnParameter, Duration, RemovalPolicy, Size, Stack, Stage } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as codebuild from 'aws-cdk-lib/aws-codebuild';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { BucketPurpose, ObjectLockMode, VersionedBucket, DataVersionSnapshot, ModelImageRepository, ModelPackageGroup, LatestApprovedModelLookup, BatchEgress, BatchNetwork, DEFAULT_GPU_INSTANCE_TYPES, DEFAULT_CPU_INSTANCE_TYPES, instanceSpec, knownFamilies, ComputePlatform, SpotGpuQueue, SpotCpuQueue, ContainerContract, RetryPolicy, JobKind, MlJobDefinition, LatencyPercentile, renderGateRules, ModelApprovalStatus, TrainingWorkflow, DeploymentPolicy, ModelEndpoint, ScanSeverity, ServingImageBuild, EndpointDeployment, EndpointTestRunner, EphemeralEndpointTest, PipelineSource, DataVersionTrigger, DeploymentLedger, PipelineVariables, MlPipeline } from '../../../lib';
import { ReadmeFixture } from '../fixture';

// README.md line 66
export function snippet(this: Stack, fixture: ReadmeFixture): void {
  const { data, artifacts, checkpoints, dataSnapshot, servingImages, trainingImages, models, image, gradientBoosting, neuralNetwork, evaluate, imageUri, training, staging, production, samples, digest, connectionArn, replicaKeyArn, lakeKey, trainingRole, releaseRole, sagemakerExecutionRole, imageBuildProject, stateMachine, businessKpiAlarm, api } = fixture;
  {
    // Minimal: the constructs at their defaults, wired together.
    const pipeline = new MlPipeline(this, 'Pipeline', {
      source: PipelineSource.connection({ connectionArn, owner: 'acme', repository: 'fraud-model' }),
      training,                                                   // a TrainingWorkflow
      imageBuild: new ServingImageBuild(this, 'Build', { repository: servingImages, modelPackageGroup: models, modelBucket: artifacts }),
      stagingDeployment: new EndpointDeployment(this, 'ToStaging', { endpoint: staging }),
      stagingTest: new EndpointTestRunner(this, 'StagingTest', { endpoint: staging, samples: [{ name: 'typical', body: '{"x": [1, 2]}' }] }),
      productionDeployment: new EndpointDeployment(this, 'ToProduction', { endpoint: production }),
      ledger: new DeploymentLedger(this, 'Ledger', { endpoints: [production] }),
      dataPrefix: 'datasets/fraud/',
    });
    
  }
}
