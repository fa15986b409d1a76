/**
 * Reading a model package group through the SageMaker API: shared by the handlers that look things up in the
 * registry, so the existence check and the paging are written once. Retries are the SDK client's (see sdk-clients.ts).
 */
import {
  DescribeModelPackageGroupCommand,
  ModelApprovalStatus,
  ModelPackageSummary,
  paginateListModelPackages,
  SageMakerClient,
} from '@aws-sdk/client-sagemaker';
import { isGroupNotFound, ModelRegistryError } from './model-registry';

/** Fails with `ModelPackageGroupNotFound` (and `fix` in the message) when the group does not exist. */
export async function assertGroupExists(client: SageMakerClient, groupName: string, fix: string): Promise<void> {
  try {
    await client.send(new DescribeModelPackageGroupCommand({ ModelPackageGroupName: groupName }));
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
  approvalStatus?: ModelApprovalStatus,
): AsyncGenerator<ModelPackageSummary[]> {
  const pages = paginateListModelPackages({ client, pageSize: 100 }, {
    ModelPackageGroupName: groupName,
    // A group holds versioned packages; say so rather than rely on the API's default type filter.
    ModelPackageType: 'Versioned',
    ModelApprovalStatus: approvalStatus,
    SortBy: 'CreationTime',
    SortOrder: 'Descending',
  });
  try {
    for await (const page of pages) yield page.ModelPackageSummaryList ?? [];
  } catch (error) {
    // The group may be deleted between the existence check and a page.
    if (isGroupNotFound(error)) {
      throw new ModelRegistryError('ModelPackageGroupNotFound', `Model package group '${groupName}' no longer exists in this account and region.`);
    }
    throw error;
  }
}
