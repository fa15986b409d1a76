/**
 * Takes a data version of an S3 prefix on native S3 versioning: writes a manifest of the current object versions
 * under the prefix and returns its SHA-256 as the data version id. No data is copied.
 *
 * Event: `{ "bucket": "my-data", "prefix": "fraud/train/" }`; the bucket may be omitted when the function has the
 * `DATA_BUCKET_NAME` environment variable. Manifests go to `<MANIFEST_PREFIX><id>.jsonl` in the same bucket
 * (`MANIFEST_PREFIX` defaults to `data-versions/`). Same objects, same id: a snapshot of unchanged data writes
 * nothing and returns `created: false`.
 *
 * Streams in two passes, so memory stays constant however many objects the prefix holds: pass 1 lists and hashes;
 * pass 2, only when the manifest does not exist yet, lists again and writes the manifest as a multipart upload,
 * hashing again, and completes the upload only when both hashes agree.
 *
 * Fails with `InvalidSnapshotRequest`, `DataBucketNotFound`, `EmptyDataPrefix` or `DataChangedDuringSnapshot`
 * (error names a Step Functions `Catch` can match).
 */
import {
  AbortMultipartUploadCommand,
  CompletedPart,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  ListObjectVersionsCommand,
  ListObjectVersionsCommandOutput,
  ListObjectsV2Command,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import {
  currentVersions,
  DataVersion,
  DataVersionError,
  DEFAULT_MANIFEST_PREFIX,
  ManifestEntry,
  ManifestHasher,
  manifestKey,
  metadataValue,
  PART_SIZE,
  PartBuffer,
} from './shared/data-manifest';
import { sdkClientConfig } from './shared/sdk-clients';

const s3 = new S3Client(sdkClientConfig());

export interface SnapshotDataVersionEvent {
  /** Defaults to the `DATA_BUCKET_NAME` environment variable. */
  readonly bucket?: string;
  /**
   * Key prefix to version; `''` versions the whole bucket (earlier manifests excluded). Defaults to the
   * `DATA_PREFIX` environment variable, and must lie inside it when that is set (IAM allows no other listing).
   */
  readonly prefix?: string;
}

export interface SnapshotInput {
  readonly bucket: string;
  readonly prefix: string;
  /** Where manifests go in the bucket; not empty. Default `data-versions/`. */
  readonly manifestPrefix?: string;
}

export interface SnapshotOptions {
  /** Manifest upload part size; default 8 MiB. Smaller only in tests: S3 wants 5 MiB for all parts but the last. */
  readonly partSize?: number;
}

export async function handler(event: SnapshotDataVersionEvent): Promise<DataVersion> {
  return snapshotDataVersion(s3, inputOf(event));
}

function inputOf(event: Partial<SnapshotDataVersionEvent> | undefined): SnapshotInput {
  const bucket = event?.bucket || process.env.DATA_BUCKET_NAME;
  if (!bucket) {
    throw new DataVersionError(
      'InvalidSnapshotRequest',
      'snapshot-data-version: no data bucket given. Pass { "bucket": "<name>", "prefix": "<prefix>" } ' +
        'or set the DATA_BUCKET_NAME environment variable.',
    );
  }
  const scope = process.env.DATA_PREFIX ?? '';
  const prefix = event?.prefix ?? (scope === '' ? undefined : scope);
  if (typeof prefix !== 'string') {
    throw new DataVersionError(
      'InvalidSnapshotRequest',
      'snapshot-data-version: no prefix given. Pass { "prefix": "<prefix>" } with the key prefix to version ' +
        '(e.g. "fraud/train/"), or "" for the whole bucket.',
    );
  }
  if (!prefix.startsWith(scope)) {
    throw new DataVersionError(
      'InvalidSnapshotRequest',
      `snapshot-data-version: prefix '${prefix}' is outside the data prefix '${scope}' this function may snapshot. ` +
        'Pass a prefix under it, or deploy the function with a wider dataPrefix.',
    );
  }
  // An empty MANIFEST_PREFIX would mix manifests with the data: treat it as unset.
  return { bucket, prefix, manifestPrefix: process.env.MANIFEST_PREFIX || DEFAULT_MANIFEST_PREFIX };
}

export async function snapshotDataVersion(client: S3Client, input: SnapshotInput, options: SnapshotOptions = {}): Promise<DataVersion> {
  const { bucket, prefix } = input;
  const manifestPrefix = input.manifestPrefix ?? DEFAULT_MANIFEST_PREFIX;
  if (manifestPrefix === '') {
    throw new DataVersionError(
      'InvalidSnapshotRequest',
      'snapshot-data-version: the manifest prefix is empty, so manifests would be mixed with the data. ' +
        `Use a prefix of their own, e.g. '${DEFAULT_MANIFEST_PREFIX}'.`,
    );
  }
  const listing = { client, bucket, prefix, manifestPrefix };

  // Pass 1: list and hash.
  const pass1 = new ManifestHasher();
  for await (const entries of currentVersionPages(listing)) {
    for (const entry of entries) pass1.add(entry);
  }
  if (pass1.objectCount === 0) {
    throw new DataVersionError(
      'EmptyDataPrefix',
      `No current objects under s3://${bucket}/${prefix}: nothing to version: upload data first or check the prefix.`,
    );
  }
  const dataVersionId = pass1.digest();
  const key = manifestKey(manifestPrefix, dataVersionId);
  const result = (created: boolean): DataVersion => ({
    dataVersionId,
    manifestUri: `s3://${bucket}/${key}`,
    bucket,
    prefix,
    objectCount: pass1.objectCount,
    totalBytes: pass1.totalBytes,
    created,
  });

  if (await objectExists(client, bucket, key)) return result(false);

  // Pass 2: list again, hash again, upload.
  await writeManifest(listing, key, dataVersionId, pass1, options.partSize ?? PART_SIZE);
  return result(true);
}

interface Listing {
  readonly client: S3Client;
  readonly bucket: string;
  readonly prefix: string;
  readonly manifestPrefix: string;
}

/**
 * The current versions under the prefix, one ListObjectVersions page at a time, in S3 key order. Paged by hand: the
 * SDK has no paginator for ListObjectVersions (its pages continue on two markers, not one token).
 */
async function* currentVersionPages(listing: Listing): AsyncGenerator<ManifestEntry[]> {
  const { client, bucket, prefix, manifestPrefix } = listing;
  let keyMarker: string | undefined;
  let versionIdMarker: string | undefined;
  for (;;) {
    let page: ListObjectVersionsCommandOutput;
    try {
      page = await client.send(
        new ListObjectVersionsCommand({ Bucket: bucket, Prefix: prefix, KeyMarker: keyMarker, VersionIdMarker: versionIdMarker }),
      );
    } catch (error) {
      throw bucketNotFound(error, bucket) ?? error;
    }
    yield currentVersions(page.Versions ?? [], manifestPrefix);
    if (!page.IsTruncated) return;
    if (page.NextKeyMarker === undefined) {
      throw new Error(`ListObjectVersions on s3://${bucket}/${prefix} said IsTruncated but gave no NextKeyMarker; cannot go on listing.`);
    }
    keyMarker = page.NextKeyMarker;
    versionIdMarker = page.NextVersionIdMarker;
  }
}

async function writeManifest(listing: Listing, key: string, dataVersionId: string, pass1: ManifestHasher, partSize: number): Promise<void> {
  const { client, bucket, prefix } = listing;
  const created = await client.send(
    new CreateMultipartUploadCommand({
      Bucket: bucket,
      Key: key,
      ContentType: 'application/x-ndjson',
      // Explicit, so that parts and completion agree on it (the SDK would add CRC32 to the parts anyway).
      ChecksumAlgorithm: 'CRC32',
      Metadata: {
        'prefix': metadataValue(prefix),
        'object-count': String(pass1.objectCount),
        'total-bytes': String(pass1.totalBytes),
      },
    }),
  );
  const uploadId = created.UploadId;
  if (!uploadId) throw new Error(`CreateMultipartUpload for s3://${bucket}/${key} returned no UploadId.`);

  try {
    const parts: CompletedPart[] = [];
    const uploadPart = async (body: Buffer): Promise<void> => {
      const partNumber = parts.length + 1;
      const uploaded = await client.send(
        new UploadPartCommand({ Bucket: bucket, Key: key, UploadId: uploadId, PartNumber: partNumber, Body: body, ChecksumAlgorithm: 'CRC32' }),
      );
      parts.push({
        PartNumber: partNumber,
        ETag: uploaded.ETag,
        ...(uploaded.ChecksumCRC32 !== undefined ? { ChecksumCRC32: uploaded.ChecksumCRC32 } : {}),
      });
    };

    const pass2 = new ManifestHasher();
    const buffer = new PartBuffer(partSize);
    for await (const entries of currentVersionPages(listing)) {
      for (const entry of entries) {
        for (const part of buffer.append(pass2.add(entry))) await uploadPart(part);
      }
    }
    const last = buffer.flush();
    if (last !== undefined) await uploadPart(last);

    if (pass2.digest() !== dataVersionId) {
      throw new DataVersionError(
        'DataChangedDuringSnapshot',
        `Objects under s3://${bucket}/${prefix} changed while the snapshot was taken ` +
          `(first listing: ${pass1.objectCount} objects, id ${dataVersionId}; second listing: ${pass2.objectCount} objects, ` +
          `id ${pass2.digest()}), so no manifest was written. Take the snapshot again once writers under the prefix ` +
          'have finished (a Step Functions Retry on DataChangedDuringSnapshot does this).',
      );
    }
    await client.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId, MultipartUpload: { Parts: parts } }));
  } catch (error) {
    // Best effort: the original error is the one to report. A lifecycle rule for incomplete uploads catches the rest.
    try {
      await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId }));
    } catch {
      // The upload stays incomplete; the bucket's lifecycle rule removes it.
    }
    throw error;
  }
}

/**
 * Whether the manifest exists, by listing its exact key: unlike HeadObject, which answers 403 instead of 404
 * unless the caller may list the whole bucket, this needs s3:ListBucket only for the manifest prefix.
 */
async function objectExists(client: S3Client, bucket: string, key: string): Promise<boolean> {
  try {
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: key, MaxKeys: 1 }));
    return (page.Contents ?? []).some((object) => object.Key === key);
  } catch (error) {
    throw bucketNotFound(error, bucket) ?? error;
  }
}

interface AwsErrorShape {
  readonly name?: string;
}

function bucketNotFound(error: unknown, bucket: string): DataVersionError | undefined {
  if (typeof error !== 'object' || error === null || (error as AwsErrorShape).name !== 'NoSuchBucket') return undefined;
  return new DataVersionError(
    'DataBucketNotFound',
    `Data bucket '${bucket}' does not exist. Check the event's "bucket" or the DATA_BUCKET_NAME environment variable, ` +
      'and that the function runs in the bucket\'s account.',
  );
}
