/**
 * Pure logic over SageMaker model registry responses: no SDK calls here, so it is tested without mocks.
 */

/** The fields of a model package summary this logic reads. */
export interface ModelPackageSummaryLike {
  readonly ModelPackageArn?: string;
  readonly ModelPackageVersion?: number;
  readonly ModelApprovalStatus?: string;
  readonly CreationTime?: Date;
}

/** The fields of a DescribeModelPackage response this logic reads. */
export interface ModelPackageDescriptionLike {
  readonly ModelPackageArn?: string;
  readonly ModelPackageGroupName?: string;
  readonly ModelPackageVersion?: number;
  readonly ModelApprovalStatus?: string;
  readonly CreationTime?: Date;
  readonly InferenceSpecification?: {
    readonly Containers?: ReadonlyArray<{ readonly Image?: string; readonly ModelDataUrl?: string; readonly ImageDigest?: string }>;
  };
  readonly CustomerMetadataProperties?: Record<string, string>;
}

/** What the `latest-approved-model` handler returns. */
export interface ApprovedModel {
  readonly modelPackageGroupName: string;
  readonly modelPackageArn: string;
  readonly modelPackageVersion: number;
  readonly modelDataUrl?: string;
  readonly image?: string;
  readonly imageDigest?: string;
  readonly creationTime?: string;
  readonly customerMetadata: Record<string, string>;
}

/** Errors whose `name` a Step Functions `Catch` can match. */
export class ModelRegistryError extends Error {
  constructor(name: 'ModelPackageGroupNotFound' | 'NoApprovedModelPackage' | 'MalformedModelPackage', message: string) {
    super(message);
    this.name = name;
  }
}

/**
 * The newest approved package among summaries: highest version wins (versions only grow within a group),
 * creation time breaks ties for summaries without a version.
 */
export function newestApproved(summaries: readonly ModelPackageSummaryLike[]): ModelPackageSummaryLike | undefined {
  let best: ModelPackageSummaryLike | undefined;
  for (const s of summaries) {
    if (s.ModelApprovalStatus !== 'Approved' || !s.ModelPackageArn) continue;
    if (best === undefined || compare(s, best) > 0) best = s;
  }
  return best;
}

function compare(a: ModelPackageSummaryLike, b: ModelPackageSummaryLike): number {
  const byVersion = (a.ModelPackageVersion ?? 0) - (b.ModelPackageVersion ?? 0);
  if (byVersion !== 0) return byVersion;
  return (a.CreationTime?.getTime() ?? 0) - (b.CreationTime?.getTime() ?? 0);
}

/** Shapes a DescribeModelPackage response into the handler's result. */
export function toApprovedModel(groupName: string, description: ModelPackageDescriptionLike): ApprovedModel {
  if (!description.ModelPackageArn || description.ModelPackageVersion === undefined) {
    throw new ModelRegistryError(
      'MalformedModelPackage',
      `Model package in group '${groupName}' has no ARN or version in its description; it cannot be used as the approved model.`,
    );
  }
  const container = description.InferenceSpecification?.Containers?.[0];
  return {
    modelPackageGroupName: groupName,
    modelPackageArn: description.ModelPackageArn,
    modelPackageVersion: description.ModelPackageVersion,
    modelDataUrl: container?.ModelDataUrl,
    image: container?.Image,
    imageDigest: container?.ImageDigest,
    creationTime: description.CreationTime?.toISOString(),
    customerMetadata: { ...(description.CustomerMetadataProperties ?? {}) },
  };
}

/** SageMaker answers a missing group with ValidationException "... does not exist", some APIs with ResourceNotFound. */
export function isGroupNotFound(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (error.name === 'ResourceNotFound' || error.name === 'ResourceNotFoundException') return true;
  return error.name === 'ValidationException' && /does not exist|not found/i.test(error.message);
}
