import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { DataVersionSnapshot, VersionedBucket } from '../../lib';
import { stackFindings } from '../support/compliance';

function setup() {
  const stack = new Stack(new App(), 'Test');
  const bucket = new VersionedBucket(stack, 'Data');
  return { stack, bucket };
}

function statements(stack: Stack): any[] {
  const policies = Template.fromStack(stack).findResources('AWS::IAM::Policy');
  return stack.resolve(Object.values(policies).flatMap((p: any) => p.Properties.PolicyDocument.Statement));
}

test('a pre-bundled Node.js 24 function with 15 minutes, 1 GiB, tracing and the bucket in its environment', () => {
  const { stack, bucket } = setup();
  new DataVersionSnapshot(stack, 'Snapshot', { bucket, dataPrefix: 'datasets/' });
  Template.fromStack(stack).hasResourceProperties('AWS::Lambda::Function', {
    Runtime: 'nodejs24.x',
    Architectures: ['arm64'],
    Timeout: 900,
    MemorySize: 1024,
    TracingConfig: { Mode: 'Active' },
    Environment: {
      Variables: Match.objectLike({
        DATA_BUCKET_NAME: { Ref: Match.stringLikeRegexp('^Data') },
        DATA_PREFIX: 'datasets/',
        MANIFEST_PREFIX: 'data-versions/',
      }),
    },
  });
});

test('least privilege: list and read under the data prefix, write and read manifests, never delete versions', () => {
  const { stack, bucket } = setup();
  new DataVersionSnapshot(stack, 'Snapshot', { bucket, dataPrefix: 'datasets/', manifestPrefix: 'manifests/' });
  const all = statements(stack);
  const json = JSON.stringify(all);
  expect(all).toContainEqual(expect.objectContaining({
    Action: ['s3:ListBucket', 's3:ListBucketVersions', 's3:GetBucketLocation'],
    Condition: { StringLike: { 's3:prefix': ['datasets/*'] } },
  }));
  expect(all).toContainEqual(expect.objectContaining({
    Action: ['s3:PutObject', 's3:PutObjectTagging', 's3:AbortMultipartUpload', 's3:DeleteObject'],
    Resource: { 'Fn::Join': ['', [expect.anything(), '/manifests/*']] },
  }));
  expect(json).not.toMatch(/DeleteObjectVersion|"s3:\*"|PutObject[^"]*","Resource":\{"Fn::Join":\["",\[\{[^}]*\},"\/datasets/);
});

test('grantInvoke lets a caller run a snapshot', () => {
  const { stack, bucket } = setup();
  const snapshot = new DataVersionSnapshot(stack, 'Snapshot', { bucket });
  snapshot.grantInvoke(new iam.Role(stack, 'Caller', { assumedBy: new iam.ServicePrincipal('states.amazonaws.com') }));
  expect(JSON.stringify(statements(stack))).toContain('lambda:InvokeFunction');
  expect(snapshot.manifestPrefix).toBe('data-versions/');
});

test('has no unacknowledged cdk-nag or Control Tower finding at its defaults', () => {
  expect(stackFindings((stack) => {
    const bucket = new VersionedBucket(stack, 'Data');
    new DataVersionSnapshot(stack, 'Snapshot', { bucket });
    new DataVersionSnapshot(stack, 'Scoped', { bucket, dataPrefix: 'datasets/fraud/' });
  }, { controlTower: true })).toEqual([]);
});

describe('fails when', () => {
  test.each(['/datasets/', 'datasets', 'data*/'])('the data prefix is %p', (dataPrefix) => {
    const { stack, bucket } = setup();
    expect(() => new DataVersionSnapshot(stack, 'S', { bucket, dataPrefix })).toThrow(
      /DataVersionSnapshot 'Test\/S': invalid dataPrefix .*ending in "\/"/,
    );
  });

  test('the manifest prefix is empty (manifests would mix with the data)', () => {
    const { stack, bucket } = setup();
    expect(() => new DataVersionSnapshot(stack, 'S', { bucket, manifestPrefix: '' })).toThrow(/invalid manifestPrefix ''/);
  });

  test.each([64, 20000, 1.5])('memorySizeMiB is %p', (memorySizeMiB) => {
    const { stack, bucket } = setup();
    expect(() => new DataVersionSnapshot(stack, 'S', { bucket, memorySizeMiB })).toThrow(
      /invalid memorySizeMiB .*whole MiB from 128 to 10240/,
    );
  });
});
