/**
 * Reading a model package group through the SageMaker API: shared by the handlers that look things up in the
 * registry, so the existence check, the paging and the retry policy are written once.
 */
import {
  DescribeModelPackageGroupCommand,
  ListModelPackagesCommand,
  ModelApprovalStatus,
  ModelPackageSummary,
  SageMakerClient,
} from '@aws-sdk/client-sagemaker';
import { isGroupNotFound, ModelRegistryError } from './model-registry';
import { RetryOptions, withRetry } from './retry';

/** Fails with `ModelPackageGroupNotFound` (and `fix` in the message) when the group does not exist. */
export async function assertGroupExists(client: SageMakerClient, groupName: string, retry: RetryOptions, fix: string): Promise<void> {
  try {
    await withRetry(() => client.send(new DescribeModelPackageGroupCommand({ ModelPackageGroupName: groupName })), retry);
  } catch (error) {
    if (isGroupNotFound(error)) {
      throw new ModelRegistryError('ModelPackageGroupNotFound',
        `Model package group '${groupName}' does not exist in this account and region. ${fix}`);
    }
    throw error;
  }
}

/** The group's model packages, newest first, one page at a time (the caller stops when it has found enough). */
export async function* modelPackagePages(
  client: SageMakerClient,
  groupName: string,
  retry: RetryOptions,
  approvalStatus?: ModelApprovalStatus,
): AsyncGenerator<ModelPackageSummary[]> {
  let nextToken: string | undefined;
  do {
    const page = await withRetry(
      () =>
        client.send(
          new ListModelPackagesCommand({
            ModelPackageGroupName: groupName,
            // A group holds versioned packages; say so rather than rely on the API's default type filter.
            ModelPackageType: 'Versioned',
            ModelApprovalStatus: approvalStatus,
            SortBy: 'CreationTime',
            SortOrder: 'Descending',
            MaxResults: 100,
            NextToken: nextToken,
          }),
        ),
      retry,
    ).catch((error: unknown) => {
      // The group may be deleted between the existence check and a page.
      if (isGroupNotFound(error)) {
        throw new ModelRegistryError('ModelPackageGroupNotFound', `Model package group '${groupName}' no longer exists in this account and region.`);
      }
      throw error;
    });
    yield page.ModelPackageSummaryList ?? [];
    nextToken = page.NextToken;
  } while (nextToken);
}
