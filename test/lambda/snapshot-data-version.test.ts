import { createHash } from 'crypto';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteMarkerEntry,
  ListObjectsV2Command,
  ListObjectVersionsCommand,
  ListObjectVersionsCommandInput,
  ObjectVersion,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
  UploadPartCommand,
  UploadPartCommandInput,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { handler, snapshotDataVersion, SnapshotDataVersionEvent } from '../../lambda/snapshot-data-version.lambda';

const s3 = mockClient(S3Client);
const BUCKET = 'ml-data';

const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');

function serviceError(name: string, status: number, message = name): S3ServiceException {
  return new S3ServiceException({ name, message, $fault: status >= 500 ? 'server' : 'client', $metadata: { httpStatusCode: status } });
}

function v(key: string, versionId: string, extra: Partial<ObjectVersion> = {}): ObjectVersion {
  return { Key: key, VersionId: versionId, ETag: `"${versionId}-etag"`, Size: 100, IsLatest: true, ...extra };
}

/** The manifest line the spec asks for, written out independently of the code under test. */
function line(key: string, versionId: string, etag: string, size: number): string {
  return `{"key":${JSON.stringify(key)},"versionId":"${versionId}","etag":"${etag}","size":${size}}\n`;
}

interface Page {
  readonly versions: ObjectVersion[];
  readonly deleteMarkers?: DeleteMarkerEntry[];
}

/**
 * Serves a listing as ListObjectVersions would: page i+1 only for the markers page i gave out, so a test fails when
 * the handler does not pass NextKeyMarker / NextVersionIdMarker on.
 */
function serveListing(pages: Page[]): void {
  const markers = (i: number) => (i === 0 ? '|' : `key-after-${i}|version-after-${i}`);
  s3.on(ListObjectVersionsCommand).callsFake((input: ListObjectVersionsCommandInput) => {
    const asked = `${input.KeyMarker ?? ''}|${input.VersionIdMarker ?? ''}`;
    const i = pages.findIndex((_, n) => markers(n) === asked);
    if (i < 0) throw new Error(`test listing: no page for markers ${asked}`);
    const more = i < pages.length - 1;
    return {
      Versions: pages[i].versions,
      DeleteMarkers: pages[i].deleteMarkers,
      IsTruncated: more,
      ...(more ? { NextKeyMarker: `key-after-${i + 1}`, NextVersionIdMarker: `version-after-${i + 1}` } : {}),
    };
  });
}

let uploadedParts: Buffer[];

/** The manifest as uploaded: the UploadPart bodies in part-number order. */
function uploadedManifest(): string {
  return Buffer.concat(uploadedParts).toString('utf8');
}

beforeEach(() => {
  s3.reset();
  uploadedParts = [];
  s3.on(ListObjectsV2Command).resolves({ KeyCount: 0 });
  s3.on(CreateMultipartUploadCommand).resolves({ UploadId: 'upload-1' });
  s3.on(UploadPartCommand).callsFake((input: UploadPartCommandInput) => {
    uploadedParts[input.PartNumber! - 1] = Buffer.from(input.Body as Uint8Array);
    return { ETag: `"part-etag-${input.PartNumber}"`, ChecksumCRC32: `crc-${input.PartNumber}` };
  });
  s3.on(CompleteMultipartUploadCommand).resolves({});
  s3.on(AbortMultipartUploadCommand).resolves({});
});

test('follows pagination with KeyMarker and VersionIdMarker over several pages', async () => {
  // GIVEN three pages
  serveListing([
    { versions: [v('raw/a.csv', 'a1'), v('raw/b.csv', 'b1')] },
    { versions: [v('raw/c.csv', 'c1')] },
    { versions: [v('raw/d.csv', 'd1', { Size: 7 })] },
  ]);

  // WHEN
  const result = await snapshotDataVersion(new S3Client({}), { bucket: BUCKET, prefix: 'raw/' });

  // THEN both passes walked all pages, passing the markers on
  expect(result).toMatchObject({ objectCount: 4, totalBytes: 307, created: true });
  expect(s3).toHaveReceivedCommandTimes(ListObjectVersionsCommand, 6);
  expect(s3).toHaveReceivedNthSpecificCommandWith(1, ListObjectVersionsCommand, { Bucket: BUCKET, Prefix: 'raw/', KeyMarker: undefined });
  expect(s3).toHaveReceivedNthSpecificCommandWith(2, ListObjectVersionsCommand, { KeyMarker: 'key-after-1', VersionIdMarker: 'version-after-1' });
  expect(s3).toHaveReceivedNthSpecificCommandWith(3, ListObjectVersionsCommand, { KeyMarker: 'key-after-2', VersionIdMarker: 'version-after-2' });
  expect(s3).toHaveReceivedNthSpecificCommandWith(5, ListObjectVersionsCommand, { KeyMarker: 'key-after-1', VersionIdMarker: 'version-after-1' });
  expect(uploadedManifest().split('\n').filter(Boolean).map((l) => JSON.parse(l).key)).toEqual(['raw/a.csv', 'raw/b.csv', 'raw/c.csv', 'raw/d.csv']);
});

test('writes the manifest exactly as specified, and its SHA-256 is the data version id', async () => {
  // GIVEN
  serveListing([{ versions: [v('raw/a.csv', 'va', { ETag: '"0cc175b9c0f1b6a831c399e269772661"', Size: 1 }), v('raw/b c.csv', 'vb', { Size: 22 })] }]);

  // WHEN
  const result = await snapshotDataVersion(new S3Client({}), { bucket: BUCKET, prefix: 'raw/' });

  // THEN
  const expected = line('raw/a.csv', 'va', '0cc175b9c0f1b6a831c399e269772661', 1) + line('raw/b c.csv', 'vb', 'vb-etag', 22);
  expect(uploadedManifest()).toBe(expected);
  expect(result).toEqual({
    dataVersionId: sha256(expected),
    manifestUri: `s3://${BUCKET}/data-versions/${sha256(expected)}.jsonl`,
    bucket: BUCKET,
    prefix: 'raw/',
    objectCount: 2,
    totalBytes: 23,
    created: true,
  });
  expect(s3).toHaveReceivedCommandWith(ListObjectsV2Command, { Bucket: BUCKET, Prefix: `data-versions/${sha256(expected)}.jsonl`, MaxKeys: 1 });
  expect(s3).toHaveReceivedCommandWith(CreateMultipartUploadCommand, {
    Bucket: BUCKET,
    Key: `data-versions/${sha256(expected)}.jsonl`,
    ContentType: 'application/x-ndjson',
    Metadata: { 'prefix': 'raw/', 'object-count': '2', 'total-bytes': '23' },
  });
  // No encryption headers: the bucket's default SSE-KMS applies.
  const create = s3.commandCalls(CreateMultipartUploadCommand)[0].args[0].input;
  expect(create.ServerSideEncryption).toBeUndefined();
  expect(create.SSEKMSKeyId).toBeUndefined();
  expect(s3).toHaveReceivedCommandTimes(UploadPartCommand, 1);
  expect(s3).toHaveReceivedCommandWith(CompleteMultipartUploadCommand, {
    UploadId: 'upload-1',
    MultipartUpload: { Parts: [{ PartNumber: 1, ETag: '"part-etag-1"', ChecksumCRC32: 'crc-1' }] },
  });
  expect(s3).not.toHaveReceivedCommand(PutObjectCommand);
});

test('leaves out non-latest versions and keys whose latest version is a delete marker', async () => {
  // GIVEN a.csv overwritten (two versions), b.csv deleted (its delete marker is the latest), c.csv current
  serveListing([
    {
      versions: [
        v('raw/a.csv', 'a2'),
        v('raw/a.csv', 'a1', { IsLatest: false }),
        v('raw/b.csv', 'b1', { IsLatest: false }),
        v('raw/c.csv', 'c1', { Size: 5 }),
      ],
      deleteMarkers: [{ Key: 'raw/b.csv', VersionId: 'b-marker', IsLatest: true }],
    },
  ]);

  // WHEN
  const result = await snapshotDataVersion(new S3Client({}), { bucket: BUCKET, prefix: 'raw/' });

  // THEN
  expect(uploadedManifest()).toBe(line('raw/a.csv', 'a2', 'a2-etag', 100) + line('raw/c.csv', 'c1', 'c1-etag', 5));
  expect(result).toMatchObject({ objectCount: 2, totalBytes: 105 });
});

test('gives the same id for the same listing, and another id when one version changes', async () => {
  // GIVEN
  const listing = [{ versions: [v('raw/a.csv', 'a1'), v('raw/b.csv', 'b1')] }];
  serveListing(listing);

  // WHEN the same data is snapshotted twice, then once more after b.csv got a new version
  const first = await snapshotDataVersion(new S3Client({}), { bucket: BUCKET, prefix: 'raw/' });
  const second = await snapshotDataVersion(new S3Client({}), { bucket: BUCKET, prefix: 'raw/' });
  serveListing([{ versions: [v('raw/a.csv', 'a1'), v('raw/b.csv', 'b2', { ETag: '"b1-etag"' })] }]);
  const changed = await snapshotDataVersion(new S3Client({}), { bucket: BUCKET, prefix: 'raw/' });

  // THEN
  expect(second.dataVersionId).toBe(first.dataVersionId);
  expect(changed.dataVersionId).not.toBe(first.dataVersionId);
  expect(changed.dataVersionId).toBe(sha256(line('raw/a.csv', 'a1', 'a1-etag', 100) + line('raw/b.csv', 'b2', 'b1-etag', 100)));
});

test('returns created: false and writes nothing when the manifest already exists', async () => {
  // GIVEN
  serveListing([{ versions: [v('raw/a.csv', 'a1')] }]);
  const existing = `data-versions/${sha256(line('raw/a.csv', 'a1', 'a1-etag', 100))}.jsonl`;
  s3.on(ListObjectsV2Command).resolves({ KeyCount: 1, Contents: [{ Key: existing, Size: 10 }] });

  // WHEN
  const result = await snapshotDataVersion(new S3Client({}), { bucket: BUCKET, prefix: 'raw/' });

  // THEN one listing pass only, no upload of any kind
  expect(result).toMatchObject({ created: false, objectCount: 1, totalBytes: 100, dataVersionId: sha256(line('raw/a.csv', 'a1', 'a1-etag', 100)) });
  expect(s3).toHaveReceivedCommandTimes(ListObjectVersionsCommand, 1);
  expect(s3).not.toHaveReceivedCommand(CreateMultipartUploadCommand);
  expect(s3).not.toHaveReceivedCommand(UploadPartCommand);
  expect(s3).not.toHaveReceivedCommand(CompleteMultipartUploadCommand);
  expect(s3).not.toHaveReceivedCommand(PutObjectCommand);
});

test('uploads a large manifest in parts of the part size with consecutive part numbers', async () => {
  // GIVEN 40 objects over two pages and a 64-byte part size
  const keys = Array.from({ length: 40 }, (_, i) => `raw/file-${String(i).padStart(3, '0')}.csv`);
  serveListing([{ versions: keys.slice(0, 25).map((k, i) => v(k, `v${i}`)) }, { versions: keys.slice(25).map((k, i) => v(k, `v${i + 25}`)) }]);

  // WHEN
  const result = await snapshotDataVersion(new S3Client({}), { bucket: BUCKET, prefix: 'raw/' }, { partSize: 64 });

  // THEN
  const manifest = keys.map((k, i) => line(k, `v${i}`, `v${i}-etag`, 100)).join('');
  const partCount = Math.ceil(Buffer.byteLength(manifest) / 64);
  expect(partCount).toBeGreaterThan(10);
  expect(s3).toHaveReceivedCommandTimes(UploadPartCommand, partCount);
  const partNumbers = s3.commandCalls(UploadPartCommand).map((c) => c.args[0].input.PartNumber);
  expect(partNumbers).toEqual(Array.from({ length: partCount }, (_, i) => i + 1));
  expect(s3.commandCalls(UploadPartCommand).every((c) => c.args[0].input.UploadId === 'upload-1')).toBe(true);
  expect(uploadedParts.slice(0, -1).every((p) => p.length === 64)).toBe(true);
  expect(uploadedParts[partCount - 1].length).toBeLessThanOrEqual(64);
  expect(uploadedManifest()).toBe(manifest);
  expect(result.dataVersionId).toBe(sha256(manifest));
  expect(s3).toHaveReceivedCommandWith(CompleteMultipartUploadCommand, {
    Bucket: BUCKET,
    Key: `data-versions/${sha256(manifest)}.jsonl`,
    UploadId: 'upload-1',
    MultipartUpload: {
      Parts: Array.from({ length: partCount }, (_, i) => ({ PartNumber: i + 1, ETag: `"part-etag-${i + 1}"`, ChecksumCRC32: `crc-${i + 1}` })),
    },
  });
  expect(s3).not.toHaveReceivedCommand(AbortMultipartUploadCommand);
});

test('fails with DataChangedDuringSnapshot and aborts the upload when the data changes between the passes', async () => {
  // GIVEN a listing that changes after the first pass
  s3.on(ListObjectVersionsCommand)
    .resolvesOnce({ Versions: [v('raw/a.csv', 'a1')], IsTruncated: false })
    .resolves({ Versions: [v('raw/a.csv', 'a2')], IsTruncated: false });

  // WHEN
  const error = await snapshotDataVersion(new S3Client({}), { bucket: BUCKET, prefix: 'raw/' }).catch((e: Error) => e);

  // THEN
  expect(error).toMatchObject({ name: 'DataChangedDuringSnapshot' });
  expect((error as Error).message).toMatch(/s3:\/\/ml-data\/raw\/ changed while the snapshot was taken/);
  expect(s3).toHaveReceivedCommandWith(AbortMultipartUploadCommand, { Bucket: BUCKET, UploadId: 'upload-1' });
  expect(s3).not.toHaveReceivedCommand(CompleteMultipartUploadCommand);
});

test('aborts the upload and reports the original error when a part upload fails', async () => {
  // GIVEN
  serveListing([{ versions: [v('raw/a.csv', 'a1')] }]);
  s3.on(UploadPartCommand).rejects(serviceError('AccessDenied', 403, 'kms:GenerateDataKey denied'));
  s3.on(AbortMultipartUploadCommand).rejects(serviceError('AccessDenied', 403, 'abort denied too'));

  // WHEN
  const error = await snapshotDataVersion(new S3Client({}), { bucket: BUCKET, prefix: 'raw/' }).catch((e: Error) => e);

  // THEN
  expect(error).toMatchObject({ name: 'AccessDenied', message: 'kms:GenerateDataKey denied' });
  expect(s3).toHaveReceivedCommandTimes(UploadPartCommand, 1);
  expect(s3).toHaveReceivedCommandWith(AbortMultipartUploadCommand, { UploadId: 'upload-1' });
  expect(s3).not.toHaveReceivedCommand(CompleteMultipartUploadCommand);
});

test('fails with DataBucketNotFound naming the bucket when it does not exist', async () => {
  // GIVEN
  s3.on(ListObjectVersionsCommand).rejects(serviceError('NoSuchBucket', 404, 'The specified bucket does not exist'));

  // WHEN
  const error = await snapshotDataVersion(new S3Client({}), { bucket: 'nope', prefix: 'raw/' }).catch((e: Error) => e);

  // THEN
  expect(error).toMatchObject({ name: 'DataBucketNotFound' });
  expect((error as Error).message).toMatch(/Data bucket 'nope' does not exist/);
  expect(s3).toHaveReceivedCommandTimes(ListObjectVersionsCommand, 1);
  expect(s3).not.toHaveReceivedCommand(ListObjectsV2Command);
});

test('fails with EmptyDataPrefix naming bucket and prefix when nothing current is under the prefix', async () => {
  // GIVEN only a deleted object and a directory key
  serveListing([
    {
      versions: [v('raw/gone.csv', 'g1', { IsLatest: false }), v('raw/', 'dir', { Size: 0 })],
      deleteMarkers: [{ Key: 'raw/gone.csv', VersionId: 'm', IsLatest: true }],
    },
  ]);

  // WHEN
  const error = await snapshotDataVersion(new S3Client({}), { bucket: BUCKET, prefix: 'raw/' }).catch((e: Error) => e);

  // THEN
  expect(error).toMatchObject({ name: 'EmptyDataPrefix' });
  expect((error as Error).message).toMatch(/s3:\/\/ml-data\/raw\/: nothing to version: upload data first or check the prefix/);
  expect(s3).not.toHaveReceivedCommand(ListObjectsV2Command);
  expect(s3).not.toHaveReceivedCommand(CreateMultipartUploadCommand);
});

test('fails with EmptyDataPrefix when the listing is empty', async () => {
  s3.on(ListObjectVersionsCommand).resolves({ IsTruncated: false });

  await expect(snapshotDataVersion(new S3Client({}), { bucket: BUCKET, prefix: 'nothing/' })).rejects.toMatchObject({
    name: 'EmptyDataPrefix',
  });
});

// The SDK's retries happen inside the client (tested through its middleware in test/lambda/shared/sdk-clients.test.ts).
test('fails with the listing error the client gives back after its retries, and writes nothing', async () => {
  s3.on(ListObjectVersionsCommand).rejects(serviceError('SlowDown', 503, 'Please reduce your request rate.'));

  await expect(snapshotDataVersion(new S3Client({}), { bucket: BUCKET, prefix: 'raw/' })).rejects.toMatchObject({ name: 'SlowDown' });

  expect(s3).toHaveReceivedCommandTimes(ListObjectVersionsCommand, 1);
  expect(s3).not.toHaveReceivedCommand(CreateMultipartUploadCommand);
});

test('leaves earlier manifests out of a snapshot of the whole bucket (prefix "")', async () => {
  // GIVEN a bucket that holds data and an earlier manifest
  serveListing([{ versions: [v('data-versions/0123abcd.jsonl', 'm1'), v('raw/a.csv', 'a1'), v('readme.txt', 'r1', { Size: 3 })] }]);

  // WHEN
  const result = await snapshotDataVersion(new S3Client({}), { bucket: BUCKET, prefix: '' });

  // THEN
  expect(uploadedManifest()).toBe(line('raw/a.csv', 'a1', 'a1-etag', 100) + line('readme.txt', 'r1', 'r1-etag', 3));
  expect(result).toMatchObject({ prefix: '', objectCount: 2 });
  expect(s3).toHaveReceivedCommandWith(ListObjectVersionsCommand, { Bucket: BUCKET, Prefix: '' });
});

test('passes on an error from the existence check, and writes nothing', async () => {
  serveListing([{ versions: [v('raw/a.csv', 'a1')] }]);
  s3.on(ListObjectsV2Command).rejects(serviceError('AccessDenied', 403));

  await expect(snapshotDataVersion(new S3Client({}), { bucket: BUCKET, prefix: 'raw/' })).rejects.toMatchObject({ name: 'AccessDenied' });
  expect(s3).not.toHaveReceivedCommand(CreateMultipartUploadCommand);
});

test('fails clearly when a truncated page gives no marker to go on with', async () => {
  s3.on(ListObjectVersionsCommand).resolves({ Versions: [v('raw/a.csv', 'a1')], IsTruncated: true });

  await expect(snapshotDataVersion(new S3Client({}), { bucket: BUCKET, prefix: 'raw/' })).rejects.toThrow(/IsTruncated but gave no NextKeyMarker/);
});

test('refuses an empty manifest prefix', async () => {
  await expect(snapshotDataVersion(new S3Client({}), { bucket: BUCKET, prefix: 'raw/', manifestPrefix: '' })).rejects.toMatchObject({
    name: 'InvalidSnapshotRequest',
  });
  expect(s3).not.toHaveReceivedCommand(ListObjectVersionsCommand);
});

describe('handler', () => {
  const saved = { bucket: process.env.DATA_BUCKET_NAME, manifests: process.env.MANIFEST_PREFIX, scope: process.env.DATA_PREFIX };
  afterEach(() => {
    const restore = [['DATA_BUCKET_NAME', saved.bucket], ['MANIFEST_PREFIX', saved.manifests], ['DATA_PREFIX', saved.scope]] as const;
    for (const [name, value] of restore) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });

  test('takes the bucket from DATA_BUCKET_NAME and the manifest prefix from MANIFEST_PREFIX', async () => {
    // GIVEN
    process.env.DATA_BUCKET_NAME = 'from-env';
    process.env.MANIFEST_PREFIX = 'versions/';
    serveListing([{ versions: [v('raw/a.csv', 'a1'), v('versions/old.jsonl', 'o1')] }]);

    // WHEN
    const result = await handler({ prefix: 'raw/' });

    // THEN
    const id = sha256(line('raw/a.csv', 'a1', 'a1-etag', 100));
    expect(result).toMatchObject({ bucket: 'from-env', manifestUri: `s3://from-env/versions/${id}.jsonl`, objectCount: 1 });
    expect(s3).toHaveReceivedCommandWith(ListObjectVersionsCommand, { Bucket: 'from-env', Prefix: 'raw/' });
  });

  test('prefers the bucket of the event, and defaults the manifest prefix to data-versions/', async () => {
    process.env.DATA_BUCKET_NAME = 'from-env';
    delete process.env.MANIFEST_PREFIX;
    serveListing([{ versions: [v('raw/a.csv', 'a1')] }]);

    const result = await handler({ bucket: 'from-event', prefix: 'raw/' });

    expect(result.manifestUri).toMatch(/^s3:\/\/from-event\/data-versions\/[0-9a-f]{64}\.jsonl$/);
  });

  test('fails clearly when neither the event nor the environment names a bucket', async () => {
    delete process.env.DATA_BUCKET_NAME;

    const error = await handler({ prefix: 'raw/' }).catch((e: Error) => e);

    expect(error).toMatchObject({ name: 'InvalidSnapshotRequest' });
    expect((error as Error).message).toMatch(/no data bucket given.*DATA_BUCKET_NAME/);
    expect(s3).not.toHaveReceivedCommand(ListObjectVersionsCommand);
  });

  test('fails clearly when the event has no prefix', async () => {
    process.env.DATA_BUCKET_NAME = 'from-env';

    const error = await handler({} as SnapshotDataVersionEvent).catch((e: Error) => e);

    expect(error).toMatchObject({ name: 'InvalidSnapshotRequest' });
    expect((error as Error).message).toMatch(/no prefix given/);
    expect(s3).not.toHaveReceivedCommand(ListObjectVersionsCommand);
  });

  test('defaults the prefix to DATA_PREFIX', async () => {
    process.env.DATA_BUCKET_NAME = 'from-env';
    process.env.DATA_PREFIX = 'raw/';
    serveListing([{ versions: [v('raw/a.csv', 'a1')] }]);

    const result = await handler({});

    expect(result.prefix).toBe('raw/');
    expect(s3).toHaveReceivedCommandWith(ListObjectVersionsCommand, { Bucket: 'from-env', Prefix: 'raw/' });
  });

  test('refuses a prefix outside DATA_PREFIX before listing anything', async () => {
    process.env.DATA_BUCKET_NAME = 'from-env';
    process.env.DATA_PREFIX = 'raw/';

    const error = await handler({ prefix: 'secret/' }).catch((e: Error) => e);

    expect(error).toMatchObject({ name: 'InvalidSnapshotRequest' });
    expect((error as Error).message).toMatch(/prefix 'secret\/' is outside the data prefix 'raw\/'/);
    expect(s3).not.toHaveReceivedCommand(ListObjectVersionsCommand);
  });
});
