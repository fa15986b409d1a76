/**
 * Returns the newest Approved model package of a SageMaker model package group.
 *
 * Event: `{ "modelPackageGroupName": "fraud-detector" }`; the name may be omitted when the function has the
 * `MODEL_PACKAGE_GROUP_NAME` environment variable. Fails with `ModelPackageGroupNotFound` or
 * `NoApprovedModelPackage` (error names a Step Functions `Catch` can match), or, with `"allowNone": true`,
 * returns null when the group has no approved package yet (the first model of a group has no champion).
 */
import {
  DescribeModelPackageCommand,
  DescribeModelPackageGroupCommand,
  ListModelPackagesCommand,
  SageMakerClient,
} from '@aws-sdk/client-sagemaker';
import { ApprovedModel, isGroupNotFound, ModelRegistryError, newestApproved, toApprovedModel } from './shared/model-registry';
import { DEFAULT_RETRY, RetryOptions, withRetry } from './shared/retry';

// One retry policy: ours (see shared/retry.ts).
const sagemaker = new SageMakerClient({ maxAttempts: 1 });

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
  retry: RetryOptions = DEFAULT_RETRY,
): Promise<ApprovedModel> {
  await assertGroupExists(client, groupName, retry);

  let nextToken: string | undefined;
  do {
    const page = await withRetry(
      () =>
        client.send(
          new ListModelPackagesCommand({
            ModelPackageGroupName: groupName,
            // A group holds versioned packages; say so rather than rely on the API's default type filter.
            ModelPackageType: 'Versioned',
            ModelApprovalStatus: 'Approved',
            SortBy: 'CreationTime',
            SortOrder: 'Descending',
            NextToken: nextToken,
          }),
        ),
      retry,
    );
    // Sorted newest first: the first page that holds an approved package holds the newest one.
    const newest = newestApproved(page.ModelPackageSummaryList ?? []);
    if (newest) {
      const description = await withRetry(
        () => client.send(new DescribeModelPackageCommand({ ModelPackageName: newest.ModelPackageArn })),
        retry,
      );
      return toApprovedModel(groupName, description);
    }
    nextToken = page.NextToken;
  } while (nextToken);

  throw new ModelRegistryError(
    'NoApprovedModelPackage',
    `Model package group '${groupName}' has no model package with status Approved. ` +
      'Approve one (UpdateModelPackage ModelApprovalStatus=Approved) or register a new one as Approved.',
  );
}

async function assertGroupExists(client: SageMakerClient, groupName: string, retry: RetryOptions): Promise<void> {
  try {
    await withRetry(() => client.send(new DescribeModelPackageGroupCommand({ ModelPackageGroupName: groupName })), retry);
  } catch (error) {
    if (isGroupNotFound(error)) {
      throw new ModelRegistryError(
        'ModelPackageGroupNotFound',
        `Model package group '${groupName}' does not exist in this account and region. ` +
          'Check the name, or create the group (ModelPackageGroup construct) before looking up its models.',
      );
    }
    throw error;
  }
}
