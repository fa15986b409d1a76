import { App, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { BucketPurpose, ObjectLockMode, VersionedBucket } from '../../lib';
import { complianceFindings, stackFindings } from '../support/compliance';

function newStack(region?: string): Stack {
  return new Stack(new App(), 'Test', region ? { env: { region, account: '111122223333' } } : {});
}

function role(stack: Stack, id = 'Role'): iam.Role {
  return new iam.Role(stack, id, { assumedBy: new iam.ServicePrincipal('batch.amazonaws.com') });
}

function bucketOf(template: Template, idPrefix: string): Record<string, any> {
  const buckets = template.findResources('AWS::S3::Bucket');
  const id = Object.keys(buckets).find((k) => k.startsWith(idPrefix));
  if (!id) throw new Error(`no bucket ${idPrefix} in ${Object.keys(buckets).join(', ')}`);
  return buckets[id];
}

function statementsOf(stack: Stack): any[] {
  const policies = Template.fromStack(stack).findResources('AWS::IAM::Policy');
  return stack.resolve(Object.values(policies).flatMap((p: any) => p.Properties.PolicyDocument.Statement));
}

describe('VersionedBucket defaults', () => {
  const stack = newStack();
  const data = new VersionedBucket(stack, 'Data');
  const template = Template.fromStack(stack);
  const bucket = bucketOf(template, 'Data');

  test('versioned, SSE-KMS with a bucket key and the stack\'s rotated, retained key', () => {
    expect(bucket.Properties.VersioningConfiguration).toEqual({ Status: 'Enabled' });
    expect(bucket.Properties.BucketEncryption.ServerSideEncryptionConfiguration).toEqual([
      {
        BucketKeyEnabled: true,
        ServerSideEncryptionByDefault: {
          SSEAlgorithm: 'aws:kms',
          KMSMasterKeyID: { 'Fn::GetAtt': [expect.stringMatching(/^MlOpsKeysKey/), 'Arn'] },
        },
      },
    ]);
    template.hasResource('AWS::KMS::Key', { DeletionPolicy: 'Retain', Properties: { EnableKeyRotation: true } });
    expect(data.encryptionKey).toBeDefined();
  });

  test('the key lets only AWS services create grants (Control Tower CT.KMS.PR.3)', () => {
    template.hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: {
        Statement: Match.arrayWith([
          {
            Sid: 'GrantsOnlyForAwsServices',
            Effect: 'Deny',
            Principal: { AWS: '*' },
            Action: 'kms:CreateGrant',
            Resource: '*',
            Condition: { BoolIfExists: { 'kms:GrantIsForAWSResource': 'false', 'aws:PrincipalIsAWSService': 'false' } },
          },
        ]),
      },
    });
  });

  test('retained on destroy, public access blocked, ACLs off, EventBridge notifications on', () => {
    expect(bucket.DeletionPolicy).toBe('Retain');
    expect(bucket.UpdateReplacePolicy).toBe('Retain');
    expect(bucket.Properties.PublicAccessBlockConfiguration).toEqual({
      BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true,
    });
    expect(bucket.Properties.OwnershipControls).toEqual({ Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] });
    expect(bucket.Properties.NotificationConfiguration).toEqual({ EventBridgeConfiguration: { EventBridgeEnabled: true } });
    expect(bucket.Properties.ObjectLockEnabled).toBeFalsy();
  });

  test('TLS 1.2+ only, by bucket policy', () => {
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          Match.objectLike({ Effect: 'Deny', Condition: { NumericLessThan: { 's3:TlsVersion': 1.2 } } }),
        ]),
      },
    });
  });

  test('DATA lifecycle: old versions to Glacier IR after 30 days, deleted after 400; uploads aborted after 7', () => {
    expect(bucket.Properties.LifecycleConfiguration.Rules).toEqual([
      {
        Id: 'data-noncurrent-versions',
        Status: 'Enabled',
        AbortIncompleteMultipartUpload: { DaysAfterInitiation: 7 },
        NoncurrentVersionExpiration: { NoncurrentDays: 400 },
        NoncurrentVersionTransitions: [{ StorageClass: 'GLACIER_IR', TransitionInDays: 30 }],
        ExpiredObjectDeleteMarker: false,
      },
    ]);
  });

  test('access logs go to one shared log bucket with a bucket policy, SSE-S3, no Object Lock', () => {
    expect(bucket.Properties.LoggingConfiguration).toEqual({
      DestinationBucketName: { Ref: expect.stringMatching(/^MlOpsAccessLogsBucket/) },
      LogFilePrefix: 'Test/Data/',
    });
    const logs = bucketOf(template, 'MlOpsAccessLogsBucket');
    expect(logs.DeletionPolicy).toBe('Retain');
    expect(logs.Properties.AccessControl).toBeUndefined();
    expect(logs.Properties.ObjectLockEnabled).toBeFalsy();
    expect(logs.Properties.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault).toEqual({ SSEAlgorithm: 'AES256' });
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([Match.objectLike({ Principal: { Service: 'logging.s3.amazonaws.com' }, Action: 's3:PutObject' })]),
      },
    });
  });

  test('a second bucket in the stack shares the access-log bucket', () => {
    const s = newStack();
    new VersionedBucket(s, 'A');
    new VersionedBucket(s, 'B', { purpose: BucketPurpose.MODELS });
    const buckets = Object.keys(Template.fromStack(s).findResources('AWS::S3::Bucket'));
    expect(buckets.filter((id) => id.startsWith('MlOpsAccessLogs'))).toHaveLength(1);
    expect(buckets).toHaveLength(3);
  });

  test('has no unacknowledged finding in the five cdk-nag packs and the Control Tower rules', () => {
    expect(stackFindings((s) => {
      new VersionedBucket(s, 'Data');
      new VersionedBucket(s, 'Models', { purpose: BucketPurpose.MODELS });
      new VersionedBucket(s, 'Checkpoints', { purpose: BucketPurpose.CHECKPOINTS });
    }, { controlTower: true })).toEqual([]);
  });
});

describe('VersionedBucket options', () => {
  test('CHECKPOINTS deletes old versions after 14 days and never transitions them', () => {
    const stack = newStack();
    new VersionedBucket(stack, 'Ckpt', { purpose: BucketPurpose.CHECKPOINTS });
    const rules = bucketOf(Template.fromStack(stack), 'Ckpt').Properties.LifecycleConfiguration.Rules;
    expect(rules).toEqual([
      expect.objectContaining({ Id: 'checkpoints-noncurrent-versions', NoncurrentVersionExpiration: { NoncurrentDays: 14 } }),
    ]);
    expect(rules[0].NoncurrentVersionTransitions).toBeUndefined();
  });

  test('lifecycle, key, name, event and removal options are applied', () => {
    const stack = newStack();
    const key = new kms.Key(stack, 'Shared');
    new VersionedBucket(stack, 'Data', {
      bucketName: 'my-data',
      encryptionKey: key,
      noncurrentVersionTransition: Duration.days(60),
      noncurrentVersionStorageClass: s3.StorageClass.INFREQUENT_ACCESS,
      noncurrentVersionExpiration: Duration.days(730),
      noncurrentVersionsToRetain: 5,
      abortIncompleteMultipartUploadAfter: Duration.days(2),
      eventBridgeEnabled: false,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const template = Template.fromStack(stack);
    const bucket = bucketOf(template, 'Data');
    expect(bucket.DeletionPolicy).toBe('Delete');
    expect(bucket.Properties.BucketName).toBe('my-data');
    expect(bucket.Properties.NotificationConfiguration).toBeUndefined();
    expect(bucket.Properties.LifecycleConfiguration.Rules[0]).toMatchObject({
      AbortIncompleteMultipartUpload: { DaysAfterInitiation: 2 },
      NoncurrentVersionExpiration: { NoncurrentDays: 730, NewerNoncurrentVersions: 5 },
      NoncurrentVersionTransitions: [{ StorageClass: 'STANDARD_IA', TransitionInDays: 60 }],
    });
    expect(Object.keys(template.findResources('AWS::KMS::Key'))).toEqual([expect.stringMatching(/^Shared/)]);
  });

  test('a custom purpose brings its own lifecycle', () => {
    const stack = newStack();
    new VersionedBucket(stack, 'Features', {
      purpose: BucketPurpose.custom('features', { expireAfter: Duration.days(90) }),
    });
    expect(bucketOf(Template.fromStack(stack), 'Features').Properties.LifecycleConfiguration.Rules[0]).toMatchObject({
      Id: 'features-noncurrent-versions',
      NoncurrentVersionExpiration: { NoncurrentDays: 90 },
    });
  });

  test('Object Lock in GOVERNANCE or COMPLIANCE mode with a default retention', () => {
    const stack = newStack();
    new VersionedBucket(stack, 'Gov', { objectLock: { mode: ObjectLockMode.GOVERNANCE, defaultRetention: Duration.days(30) } });
    new VersionedBucket(stack, 'Comp', { objectLock: { mode: ObjectLockMode.COMPLIANCE, defaultRetention: Duration.days(365) } });
    const template = Template.fromStack(stack);
    expect(bucketOf(template, 'Gov').Properties).toMatchObject({
      ObjectLockEnabled: true,
      ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention: { Mode: 'GOVERNANCE', Days: 30 } } },
    });
    expect(bucketOf(template, 'Comp').Properties.ObjectLockConfiguration.Rule.DefaultRetention).toEqual({ Mode: 'COMPLIANCE', Days: 365 });
  });

  test('replication to another region with the replica key, delete markers included', () => {
    const stack = newStack('eu-west-1');
    const replicaKey = kms.Key.fromKeyArn(stack, 'ReplicaKey', 'arn:aws:kms:eu-central-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab');
    const destination = s3.Bucket.fromBucketAttributes(stack, 'Dest', { bucketName: 'replica', region: 'eu-central-1' });
    new VersionedBucket(stack, 'Data', { replication: { destination, replicaKey } });
    const config = bucketOf(Template.fromStack(stack), 'Data').Properties.ReplicationConfiguration;
    expect(stack.resolve(config.Rules)).toEqual([
      expect.objectContaining({
        Id: 'replicate-all',
        Status: 'Enabled',
        Destination: expect.objectContaining({
          StorageClass: 'GLACIER_IR',
          EncryptionConfiguration: { ReplicaKmsKeyID: 'arn:aws:kms:eu-central-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab' },
        }),
        DeleteMarkerReplication: { Status: 'Enabled' },
        SourceSelectionCriteria: { SseKmsEncryptedObjects: { Status: 'Enabled' } },
      }),
    ]);
  });

  test('replication and Object Lock add no unacknowledged finding', () => {
    expect(complianceFindings((app) => {
      const stack = new Stack(app, 'Test', { env: { region: 'eu-west-1', account: '111122223333' } });
      const replicaKey = kms.Key.fromKeyArn(stack, 'ReplicaKey', 'arn:aws:kms:eu-central-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab');
      const destination = s3.Bucket.fromBucketAttributes(stack, 'Dest', { bucketName: 'replica', region: 'eu-central-1' });
      new VersionedBucket(stack, 'Data', {
        replication: { destination, replicaKey },
        objectLock: { mode: ObjectLockMode.GOVERNANCE, defaultRetention: Duration.days(30) },
      });
    }, { controlTower: true })).toEqual([]);
  });
});

describe('VersionedBucket grants', () => {
  test('grantRead is scoped to the prefix: objects, versions, and listing with an s3:prefix condition', () => {
    const stack = newStack();
    const data = new VersionedBucket(stack, 'Data');
    data.grantRead(role(stack), 'datasets/fraud/');
    const statements = statementsOf(stack);
    const json = JSON.stringify(statements);
    expect(statements).toContainEqual(expect.objectContaining({
      Action: ['s3:GetObject', 's3:GetObjectVersion', 's3:GetObjectTagging', 's3:GetObjectVersionTagging'],
      Resource: { 'Fn::Join': ['', [expect.anything(), '/datasets/fraud/*']] },
    }));
    expect(statements).toContainEqual(expect.objectContaining({
      Action: ['s3:ListBucket', 's3:ListBucketVersions', 's3:GetBucketLocation'],
      Condition: { StringLike: { 's3:prefix': ['datasets/fraud/*'] } },
    }));
    expect(json).toContain('kms:Decrypt');
    expect(json).not.toMatch(/s3:PutObject|kms:Encrypt|kms:GenerateDataKey/);
  });

  test('grantReadWrite adds writes and deletes but never s3:DeleteObjectVersion', () => {
    const stack = newStack();
    const models = new VersionedBucket(stack, 'Models', { purpose: BucketPurpose.MODELS });
    models.grantReadWrite(role(stack), 'fraud/');
    const json = JSON.stringify(statementsOf(stack));
    expect(json).toContain('"Action":["s3:PutObject","s3:PutObjectTagging","s3:AbortMultipartUpload","s3:DeleteObject"]');
    expect(json).toContain('kms:GenerateDataKey*');
    expect(json).not.toContain('DeleteObjectVersion');
    expect(json).not.toContain('s3:*');
  });

  test('grantWrite without a prefix covers the whole bucket and lists nothing', () => {
    const stack = newStack();
    new VersionedBucket(stack, 'Data').grantWrite(role(stack));
    const statements = statementsOf(stack);
    expect(statements.find((s) => JSON.stringify(s.Action).includes('s3:PutObject')).Resource)
      .toEqual({ 'Fn::Join': ['', [expect.anything(), '/*']] });
    expect(JSON.stringify(statements)).not.toContain('s3:ListBucket');
  });

  test('imported buckets grant by prefix too, with their key', () => {
    const stack = newStack();
    const key = kms.Key.fromKeyArn(stack, 'Key', 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab');
    const imported = VersionedBucket.fromBucketAttributes(stack, 'Imported', { bucketName: 'shared-data', encryptionKey: key });
    imported.grantRead(role(stack), 'raw/');
    const json = JSON.stringify(statementsOf(stack));
    expect(json).toContain(':s3:::shared-data/raw/*');
    expect(json).toContain('arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab');
    expect(imported.s3UrlForObject('raw/')).toBe('s3://shared-data/raw/');
    expect(VersionedBucket.fromBucketName(stack, 'ByName', 'other').bucketName).toBe('other');
  });

  test('metrics for stored bytes and objects are the daily S3 storage metrics', () => {
    const stack = newStack();
    const data = new VersionedBucket(stack, 'Data');
    const bytes = data.metricBucketSizeBytes();
    expect(bytes.namespace).toBe('AWS/S3');
    expect(bytes.metricName).toBe('BucketSizeBytes');
    expect(bytes.period.toDays()).toBe(1);
    expect(stack.resolve(data.metricNumberOfObjects().dimensions)).toEqual({
      BucketName: { Ref: expect.stringMatching(/^Data/) },
      StorageType: 'AllStorageTypes',
    });
  });
});

describe('VersionedBucket fails when', () => {
  const lock = (mode: ObjectLockMode, days: number) => ({ mode, defaultRetention: Duration.days(days) });

  test.each([0, 36501])('the Object Lock retention is %p days', (days) => {
    expect(() => new VersionedBucket(newStack(), 'B', { objectLock: lock(ObjectLockMode.GOVERNANCE, days) })).toThrow(
      new RegExp(`VersionedBucket 'Test/B': invalid objectLock.defaultRetention '${days} days'. S3 accepts whole days from 1 to 36500`),
    );
  });

  test('the Object Lock retention is not whole days', () => {
    expect(() => new VersionedBucket(newStack(), 'B', {
      objectLock: { mode: ObjectLockMode.GOVERNANCE, defaultRetention: Duration.hours(36) },
    })).toThrow(/invalid objectLock.defaultRetention '1.5 days'/);
  });

  test('a COMPLIANCE lock comes with a removal policy that would try to delete', () => {
    expect(() => new VersionedBucket(newStack(), 'B', {
      objectLock: lock(ObjectLockMode.COMPLIANCE, 30),
      removalPolicy: RemovalPolicy.DESTROY,
    })).toThrow(/invalid removalPolicy 'destroy'. A COMPLIANCE-locked bucket cannot be emptied.*use RemovalPolicy.RETAIN/);
  });

  test.each([s3.StorageClass.INFREQUENT_ACCESS, s3.StorageClass.ONE_ZONE_INFREQUENT_ACCESS])(
    'the noncurrent transition to %s comes before 30 days (S3 refuses it)', (storageClass) => {
      expect(() => new VersionedBucket(newStack(), 'B', { noncurrentVersionStorageClass: storageClass, noncurrentVersionTransition: Duration.days(7) })).toThrow(
        new RegExp(`VersionedBucket 'Test/B': invalid noncurrentVersionTransition '7 days'. S3 transitions to ${storageClass.value} only after at least 30 days`),
      );
      // Glacier Instant Retrieval has no such minimum, and 30 days is allowed for infrequent access.
      expect(() => new VersionedBucket(newStack(), 'B', { noncurrentVersionStorageClass: storageClass, noncurrentVersionTransition: Duration.days(30) })).not.toThrow();
      expect(() => new VersionedBucket(newStack(), 'B', { noncurrentVersionTransition: Duration.days(7) })).not.toThrow();
    });

  test('the noncurrent transition is not before the expiry', () => {
    expect(() => new VersionedBucket(newStack(), 'B', {
      noncurrentVersionTransition: Duration.days(90),
      noncurrentVersionExpiration: Duration.days(60),
    })).toThrow(/invalid noncurrentVersionTransition '90 days'. It must come before noncurrentVersionExpiration \(60 days\)/);
  });

  test.each([
    ['noncurrentVersionExpiration', { noncurrentVersionExpiration: Duration.days(0) }, '0 days'],
    ['noncurrentVersionTransition', { noncurrentVersionTransition: Duration.hours(12) }, '0.5 days'],
    ['abortIncompleteMultipartUploadAfter', { abortIncompleteMultipartUploadAfter: Duration.days(0) }, '0 days'],
  ])('%s is not a positive number of whole days', (prop, props, shown) => {
    expect(() => new VersionedBucket(newStack(), 'B', props)).toThrow(
      new RegExp(`invalid ${prop} '${shown}'. S3 lifecycle rules count whole days, at least 1`),
    );
  });

  test.each([0, 101, 2.5])('noncurrentVersionsToRetain is %p', (n) => {
    expect(() => new VersionedBucket(newStack(), 'B', { noncurrentVersionsToRetain: n })).toThrow(
      /invalid noncurrentVersionsToRetain .*1 to 100 noncurrent versions/,
    );
  });

  test('replication goes to the same region', () => {
    const stack = newStack('eu-west-1');
    const destination = s3.Bucket.fromBucketAttributes(stack, 'Dest', { bucketName: 'replica', region: 'eu-west-1' });
    const replicaKey = new kms.Key(stack, 'K');
    expect(() => new VersionedBucket(stack, 'B', { replication: { destination, replicaKey } })).toThrow(
      /invalid replication.destination 'a bucket in eu-west-1'. Replication protects against the loss of a region/,
    );
  });

  test('replication has no replica key for the KMS-encrypted bucket', () => {
    const stack = newStack('eu-west-1');
    const destination = s3.Bucket.fromBucketAttributes(stack, 'Dest', { bucketName: 'replica', region: 'us-east-1' });
    expect(() => new VersionedBucket(stack, 'B', {
      replication: { destination, replicaKey: undefined as unknown as kms.IKey },
    })).toThrow(/invalid replication.replicaKey undefined. The bucket is SSE-KMS/);
  });

  test.each(['/data/', 'data/*'])('a grant prefix is %p', (prefix) => {
    const stack = newStack();
    const data = new VersionedBucket(stack, 'Data');
    expect(() => data.grantRead(role(stack), prefix)).toThrow(/invalid prefix .*without a leading "\/" and without wildcards/);
  });
});
