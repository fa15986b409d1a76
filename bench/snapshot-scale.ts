/**
 * Scale check of snapshot-data-version: 1,000,000 objects in pages of 1,000, served lazily by a fake S3 client.
 *
 *   npx ts-node -T -P bin/tsconfig.json bench/snapshot-scale.ts [objectCount]
 *
 * Prints figures, not pass/fail: the fake answers at once, so the time is the handler's own CPU cost (two listings,
 * two hashings, part cutting); a real run adds the latency of 2 x objectCount / 1,000 ListObjectVersions calls.
 * The fake is hand-written rather than aws-sdk-client-mock, whose call history would keep every page and part
 * alive and measure the mock's memory instead of the handler's.
 */
import { createHash } from 'crypto';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  ListObjectsV2Command,
  ListObjectVersionsCommand,
  ObjectVersion,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { snapshotDataVersion } from '../lambda/snapshot-data-version.lambda';

const OBJECTS = Number(process.argv[2] ?? 1_000_000);
const PAGE = 1_000;
const MiB = 1024 * 1024;

let peakRss = process.memoryUsage().rss;
const sample = () => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
};

const key = (i: number) => `datasets/fraud/train/part-${String(i).padStart(7, '0')}.parquet`;

/** Page n of the listing, made when asked for; every fifth key also has an older, non-latest version. */
function page(n: number): ObjectVersion[] {
  const versions: ObjectVersion[] = [];
  for (let i = n * PAGE; i < Math.min((n + 1) * PAGE, OBJECTS); i++) {
    const hex = i.toString(16).padStart(8, '0');
    versions.push({
      Key: key(i),
      VersionId: `3HL4kqtJlcpXroDTDmJ${hex}.rlFkKq`,
      ETag: `"${hex.repeat(4)}"`,
      Size: 1_000_000 + (i % 997),
      IsLatest: true,
    });
    if (i % 5 === 0) versions.push({ Key: key(i), VersionId: `old-${hex}`, ETag: '"old"', Size: 1, IsLatest: false });
  }
  return versions;
}

let listCalls = 0;
let parts = 0;
let uploadedBytes = 0;
let largestPart = 0;
const uploadedHash = createHash('sha256');
let completed = false;

const fakeS3 = {
  async send(command: unknown): Promise<unknown> {
    sample();
    if (command instanceof ListObjectVersionsCommand) {
      listCalls++;
      // The marker is the last key of the previous page: part-<index>.parquet.
      const n = command.input.KeyMarker === undefined ? 0 : Math.floor(Number(command.input.KeyMarker.slice(-15, -8)) / PAGE) + 1;
      const last = (n + 1) * PAGE >= OBJECTS;
      const versions = page(n);
      const tail = versions[versions.length - 1];
      return { Versions: versions, IsTruncated: !last, ...(last ? {} : { NextKeyMarker: tail.Key, NextVersionIdMarker: tail.VersionId }) };
    }
    if (command instanceof ListObjectsV2Command) return { KeyCount: 0 }; // no manifest yet
    if (command instanceof CreateMultipartUploadCommand) return { UploadId: 'bench-upload' };
    if (command instanceof UploadPartCommand) {
      const body = command.input.Body as Uint8Array;
      parts++;
      uploadedBytes += body.length;
      largestPart = Math.max(largestPart, body.length);
      uploadedHash.update(body);
      return { ETag: `"part-${command.input.PartNumber}"` };
    }
    if (command instanceof CompleteMultipartUploadCommand) {
      completed = true;
      return {};
    }
    if (command instanceof AbortMultipartUploadCommand) return {};
    throw new Error(`bench: unexpected command ${(command as object).constructor.name}`);
  },
} as unknown as S3Client;

async function main(): Promise<void> {
  const timer = setInterval(sample, 20);
  const rssBefore = process.memoryUsage().rss;
  const start = process.hrtime.bigint();
  try {
    const result = await snapshotDataVersion(fakeS3, { bucket: 'bench-data', prefix: 'datasets/fraud/train/' });
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    sample();
    const uploadedId = uploadedHash.digest('hex');
    console.log(`objects:              ${result.objectCount.toLocaleString('en-US')} (of ${OBJECTS.toLocaleString('en-US')} generated)`);
    console.log(`ListObjectVersions:   ${listCalls} calls (two passes)`);
    console.log(`elapsed:              ${seconds.toFixed(1)} s (no S3 latency)`);
    console.log(`RSS before / peak:    ${(rssBefore / MiB).toFixed(0)} MiB / ${(peakRss / MiB).toFixed(0)} MiB`);
    console.log(`parts uploaded:       ${parts} (largest ${(largestPart / MiB).toFixed(2)} MiB)`);
    console.log(`manifest size:        ${uploadedBytes.toLocaleString('en-US')} bytes (${(uploadedBytes / MiB).toFixed(1)} MiB)`);
    console.log(`data version id:      ${result.dataVersionId}`);
    console.log(`id = sha256(uploaded): ${uploadedId === result.dataVersionId}; completed: ${completed}; created: ${result.created}`);
    if (uploadedId !== result.dataVersionId || !completed || result.objectCount !== OBJECTS) process.exitCode = 1;
  } finally {
    clearInterval(timer);
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
