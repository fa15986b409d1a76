import { Size, Stack, StackProps } from 'aws-cdk-lib';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import { Construct } from 'constructs';
import {
  BatchNetwork,
  BucketPurpose,
  DataVersionSnapshot,
  LatestApprovedModelLookup,
  MlJobDefinition,
  ModelImageRepository,
  ModelPackageGroup,
  SpotCpuQueue,
  SpotGpuQueue,
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
    new DataVersionSnapshot(this, 'DataVersions', { bucket: data, dataPrefix: 'datasets/' });

    // Registries: serving images and model versions.
    new ModelImageRepository(this, 'ServingImages');
    const models = new ModelPackageGroup(this, 'ModelRegistry', {
      description: 'Reference model: every registered version with its lineage',
    });
    new LatestApprovedModelLookup(this, 'Champion', { modelPackageGroup: models });

    // Compute: spot GPUs for training, spot CPUs (Fargate) for evaluation; both scale to zero.
    const network = new BatchNetwork(this, 'Network');
    const gpuQueue = new SpotGpuQueue(this, 'TrainingQueue', { network });
    const cpuQueue = new SpotCpuQueue(this, 'EvaluationQueue', { network });

    // The team's training / evaluation image (one image, two entry points), built by its own CI.
    const trainingImages = new ModelImageRepository(this, 'TrainingImages');
    const image = ecs.ContainerImage.fromEcrRepository(trainingImages.repository, 'reference');
    MlJobDefinition.training(this, 'Train', {
      queue: gpuQueue,
      image,
      command: ['python', '-m', 'train'],
      reads: [{ bucket: data, prefix: 'datasets/' }],
      writes: [{ bucket: modelArtifacts, prefix: 'runs/' }, { bucket: checkpoints, prefix: 'runs/' }],
    });
    MlJobDefinition.evaluation(this, 'Evaluate', {
      queue: cpuQueue,
      image,
      command: ['python', '-m', 'evaluate'],
      vcpus: 2,
      memory: Size.gibibytes(4),
      shards: 8,
      reads: [{ bucket: data, prefix: 'datasets/' }, { bucket: modelArtifacts, prefix: 'runs/' }],
      writes: [{ bucket: modelArtifacts, prefix: 'evaluations/' }],
    });
  }
}
