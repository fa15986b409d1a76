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
import { BucketPurpose, ObjectLockMode, VersionedBucket, DataVersionSnapshot, ModelImageRepository, LatestApprovedModelLookup, BatchEgress, BatchNetwork, DEFAULT_GPU_INSTANCE_TYPES, DEFAULT_CPU_INSTANCE_TYPES, instanceSpec, knownFamilies, ComputePlatform, SpotGpuQueue, SpotCpuQueue, ContainerContract, RetryPolicy, JobKind, MlJobDefinition, LatencyPercentile, renderGateRules, ModelApprovalStatus, TrainingWorkflow, DeploymentPolicy, ModelEndpoint, ScanSeverity, ServingImageBuild, EndpointDeployment, EndpointTestRunner, EphemeralEndpointTest, PipelineSource, DataVersionTrigger, DeploymentLedger, PipelineVariables, MlPipeline, ModelPackageGroup } from '../../../lib';
import { ReadmeFixture } from '../fixture';

// README.md line 196
export function snippet(this: Stack, fixture: ReadmeFixture): void {
  const { data, artifacts, checkpoints, dataSnapshot, servingImages, trainingImages, models, image, gradientBoosting, neuralNetwork, evaluate, imageUri, training, staging, production, samples, digest, connectionArn, replicaKeyArn, lakeKey, trainingRole, releaseRole, sagemakerExecutionRole, imageBuildProject, stateMachine, businessKpiAlarm, api } = fixture;
  {
    
    const models = new ModelPackageGroup(this, 'Models', {
      modelPackageGroupName: 'fraud-detector',
      description: 'Fraud detector: every registered version with its lineage',
      readerAccounts: ['111122223333'], // a production account may read (not change) the registry
    });
    models.grantRegister(trainingRole); // sagemaker:CreateModelPackage on this group only
    models.grantApprove(releaseRole);   // sagemaker:UpdateModelPackage on this group's versions only
    
    const shared = ModelPackageGroup.fromModelPackageGroupArn(this, 'Shared',
      'arn:aws:sagemaker:eu-west-1:444455556666:model-package-group/fraud-detector');
    
  }
}
