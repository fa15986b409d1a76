import { Stack, StackProps } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import {
  BatchNetwork,
  BucketPurpose,
  DataVersionSnapshot,
  LatestApprovedModelLookup,
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
    new VersionedBucket(this, 'Models', { purpose: BucketPurpose.MODELS });
    new VersionedBucket(this, 'Checkpoints', { purpose: BucketPurpose.CHECKPOINTS });
    new DataVersionSnapshot(this, 'DataVersions', { bucket: data, dataPrefix: 'datasets/' });

    // Registries: serving images and model versions.
    new ModelImageRepository(this, 'ServingImages');
    const models = new ModelPackageGroup(this, 'ModelRegistry', {
      description: 'Reference model: every registered version with its lineage',
    });
    new LatestApprovedModelLookup(this, 'Champion', { modelPackageGroup: models });

    // Compute: spot GPUs for training, spot CPUs (Fargate) for evaluation; both scale to zero.
    const network = new BatchNetwork(this, 'Network');
    new SpotGpuQueue(this, 'TrainingQueue', { network });
    new SpotCpuQueue(this, 'EvaluationQueue', { network });
  }
}
