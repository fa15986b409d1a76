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
import { BucketPurpose, ObjectLockMode, VersionedBucket, DataVersionSnapshot, ModelImageRepository, ModelPackageGroup, LatestApprovedModelLookup, DEFAULT_GPU_INSTANCE_TYPES, DEFAULT_CPU_INSTANCE_TYPES, instanceSpec, knownFamilies, ContainerContract, JobKind, LatencyPercentile, renderGateRules, ModelApprovalStatus, TrainingWorkflow, DeploymentPolicy, ModelEndpoint, ScanSeverity, ServingImageBuild, EndpointDeployment, EndpointTestRunner, EphemeralEndpointTest, PipelineSource, DataVersionTrigger, DeploymentLedger, PipelineVariables, MlPipeline, BatchEgress, BatchNetwork, ComputePlatform, MlJobDefinition, RetryPolicy, SpotCpuQueue, SpotGpuQueue } from '../../../lib';
import { ReadmeFixture } from '../fixture';

// README.md line 234
export function snippet(this: Stack, fixture: ReadmeFixture): void {
  const { data, artifacts, checkpoints, dataSnapshot, servingImages, trainingImages, models, image, gradientBoosting, neuralNetwork, evaluate, imageUri, training, staging, production, samples, digest, connectionArn, replicaKeyArn, lakeKey, trainingRole, releaseRole, sagemakerExecutionRole, imageBuildProject, stateMachine, businessKpiAlarm, api } = fixture;
  {
    
    const network = new BatchNetwork(this, 'Network');                 // or BatchNetwork.fromVpc(this, 'Network', vpc, subnets)
    const gpus = new SpotGpuQueue(this, 'TrainingQueue', { network });   // g4dn / g5 / g6 spot, on-demand fallback
    const cpus = new SpotCpuQueue(this, 'EvaluationQueue', { network }); // Fargate Spot
    
    const train = MlJobDefinition.training(this, 'Train', {
      queue: gpus,
      image: ecs.ContainerImage.fromEcrRepository(trainingImages.repository, 'v42'),
      gpus: 1, vcpus: 8, memory: Size.gibibytes(30),           // checked against the queue's instance types at synth
      reads: [{ bucket: data, prefix: 'datasets/fraud/' }],
      writes: [{ bucket: artifacts, prefix: 'runs/' }, { bucket: checkpoints, prefix: 'runs/' }],
    });
    const evaluate = MlJobDefinition.evaluation(this, 'Evaluate', { queue: cpus, image, shards: 8, vcpus: 2, memory: Size.gibibytes(4) });
    train.grantSubmitJob(stateMachine); // the job definition (all revisions) and the queue and its on-demand queue
    
  }
}
