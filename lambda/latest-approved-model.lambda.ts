/**
 * Returns the newest Approved model package of a SageMaker model package group.
 *
 * Event: `{ "modelPackageGroupName": "fraud-detector" }`; the name may be omitted when the function has the
 * `MODEL_PACKAGE_GROUP_NAME` environment variable. Fails with `ModelPackageGroupNotFound` or
 * `NoApprovedModelPackage` (error names a Step Functions `Catch` can match), or, with `"allowNone": true`,
 * returns null when the group has no approved package yet (the first model of a group has no champion).
 */
import { DescribeModelPackageCommand, SageMakerClient } from '@aws-sdk/client-sagemaker';
import { assertGroupExists, modelPackagePages } from './shared/model-package-pages';
import { ApprovedModel, ModelRegistryError, newestApproved, toApprovedModel } from './shared/model-registry';
import { sdkClientConfig } from './shared/sdk-clients';

const sagemaker = new SageMakerClient(sdkClientConfig());

export interface LatestApprovedModelEvent {
  readonly modelPackageGroupName?: string;
  /** Return null instead of failing when the group has no approved package. */
  readonly allowNone?: boolean;
}

export async function handler(event: LatestApprovedModelEvent = {}): Promise<ApprovedModel | null> {
  try {
    return await findLatestApprovedModel(sagemaker, groupNameOf(event));
  } catch (error) {
    if (event.allowNone === true && error instanceof ModelRegistryError && error.name === 'NoApprovedModelPackage') return null;
    throw error;
  }
}

function groupNameOf(event: LatestApprovedModelEvent): string {
  const name = event.modelPackageGroupName ?? process.env.MODEL_PACKAGE_GROUP_NAME;
  if (!name) {
    throw new Error(
      'latest-approved-model: no model package group given. Pass { "modelPackageGroupName": "<name>" } ' +
        'or set the MODEL_PACKAGE_GROUP_NAME environment variable.',
    );
  }
  return name;
}

export async function findLatestApprovedModel(
  client: SageMakerClient,
  groupName: string,
): Promise<ApprovedModel> {
  await assertGroupExists(client, groupName,
    'Check the name, or create the group (ModelPackageGroup construct) before looking up its models.');
  for await (const page of modelPackagePages(client, groupName, 'Approved')) {
    // Sorted newest first: the first page that holds an approved package holds the newest one.
    const newest = newestApproved(page);
    if (newest) {
      const description = await client.send(new DescribeModelPackageCommand({ ModelPackageName: newest.ModelPackageArn }));
      return toApprovedModel(groupName, description);
    }
  }

  throw new ModelRegistryError(
    'NoApprovedModelPackage',
    `Model package group '${groupName}' has no model package with status Approved. ` +
      'Approve one (UpdateModelPackage ModelApprovalStatus=Approved) or register a new one as Approved.',
  );
}
