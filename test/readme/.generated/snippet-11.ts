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
import { BucketPurpose, ObjectLockMode, VersionedBucket, DataVersionSnapshot, ModelImageRepository, ModelPackageGroup, LatestApprovedModelLookup, BatchEgress, BatchNetwork, DEFAULT_GPU_INSTANCE_TYPES, DEFAULT_CPU_INSTANCE_TYPES, instanceSpec, knownFamilies, ComputePlatform, SpotGpuQueue, SpotCpuQueue, ContainerContract, RetryPolicy, JobKind, MlJobDefinition, LatencyPercentile, renderGateRules, ModelApprovalStatus, TrainingWorkflow, ScanSeverity, ServingImageBuild, EndpointDeployment, EndpointTestRunner, EphemeralEndpointTest, PipelineSource, DataVersionTrigger, DeploymentLedger, PipelineVariables, MlPipeline, DeploymentPolicy, ModelEndpoint } from '../../../lib';
import { ReadmeFixture } from '../fixture';

// README.md line 383
export function snippet(this: Stack, fixture: ReadmeFixture): void {
  const { data, artifacts, checkpoints, dataSnapshot, servingImages, trainingImages, models, image, gradientBoosting, neuralNetwork, evaluate, imageUri, training, staging, production, samples, digest, connectionArn, replicaKeyArn, lakeKey, trainingRole, releaseRole, sagemakerExecutionRole, imageBuildProject, stateMachine, businessKpiAlarm, api } = fixture;
  {
    
    // Staging: serverless, nothing to pay when idle.
    new ModelEndpoint(this, 'Staging', { imageUri, serverless: { memory: Size.gibibytes(2), maxConcurrency: 5 } });
    
    // Production: two instances or more, canary 10% baked 10 minutes, rolled back on 5XX errors or p99 latency.
    const production = new ModelEndpoint(this, 'Production', {
      imageUri,                                   // <repository>@sha256:<digest>: a tag would fail at synth
      production: true,                           // fewer than 2 instances fails at synth
      instanceType: 'ml.c6i.xlarge',
      deploymentPolicy: DeploymentPolicy.canary({ canaryPercent: 10, canaryBakeTime: Duration.minutes(10) }),
      latencyThreshold: Duration.millis(300),
      rollbackAlarms: [businessKpiAlarm],         // any alarm of yours also rolls back
      autoScaling: { maxCapacity: 10, targetInvocationsPerInstance: 500 },
    });
    production.grantInvoke(api);
    
  }
}
