import { Stack, StackProps } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { LatestApprovedModelLookup, ModelPackageGroup } from '../lib';

/**
 * The reference deployment: every cdk-mlops construct wired with its defaults. Environment-agnostic, so it
 * synthesizes offline without credentials.
 */
export class MlOpsReferenceStack extends Stack {
  constructor(scope: Construct, id: string, props: StackProps = {}) {
    super(scope, id, props);

    const models = new ModelPackageGroup(this, 'Models', {
      description: 'Reference model: every registered version with its lineage',
    });
    new LatestApprovedModelLookup(this, 'Champion', { modelPackageGroup: models });
  }
}
