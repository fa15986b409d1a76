import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';

/** The object's body as UTF-8 text (a version of it when `versionId` is given); empty when it has no body. */
export async function readText(s3: S3Client, bucket: string, key: string, versionId?: string): Promise<string> {
  const response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, VersionId: versionId }));
  return (await response.Body?.transformToString('utf-8')) ?? '';
}
