import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as codebuild from 'aws-cdk-lib/aws-codebuild';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { BucketPurpose, MlOpsKeys, ModelImageRepository, VersionedBucket } from '../../lib';
import { alertsTopic } from '../../lib/private/alerts-topic';
import { encryptedLogGroup } from '../../lib/private/log-group';

const VIA_S3 = { StringEquals: { 'kms:ViaService': { 'Fn::Join': ['', ['s3.', { Ref: 'AWS::Region' }, '.amazonaws.com']] } } };

function newStack(context: Record<string, unknown> = {}): Stack {
  return new Stack(new App({ context }), 'Test');
}

/** Two buckets, an image repository, two log groups and the alerts topic: what asks the library for a key. */
function everyUse(stack: Stack): { data: VersionedBucket; models: VersionedBucket } {
  const data = new VersionedBucket(stack, 'Data');
  const models = new VersionedBucket(stack, 'Models', { purpose: BucketPurpose.MODELS });
  new ModelImageRepository(stack, 'Images');
  encryptedLogGroup(stack, 'LogsA');
  encryptedLogGroup(stack, 'LogsB');
  alertsTopic(stack);
  return { data, models };
}

function keyStatements(template: Template): any[] {
  const keys = Object.values(template.findResources('AWS::KMS::Key'));
  expect(keys).toHaveLength(1);
  return keys[0].Properties.KeyPolicy.Statement;
}

function roleStatements(stack: Stack): any[] {
  const policies = Template.fromStack(stack).findResources('AWS::IAM::Policy');
  return stack.resolve(Object.values(policies).flatMap((p: any) => p.Properties.PolicyDocument.Statement));
}

describe('MlOpsKeys: one key per stack (default)', () => {
  const stack = newStack();
  everyUse(stack);
  const template = Template.fromStack(stack);

  test('buckets, image repository, log groups and alerts topic share one key, made once, at MlOpsKeys/Key', () => {
    template.resourceCountIs('AWS::KMS::Key', 1);
    const [id] = Object.keys(template.findResources('AWS::KMS::Key'));
    expect(id).toMatch(/^MlOpsKeysKey/);
    // The two buckets are SSE-KMS with it (the access-log bucket is SSE-S3, as S3 server access logging requires).
    const kmsKeysOfBuckets = Object.values(template.findResources('AWS::S3::Bucket'))
      .map((b: any) => b.Properties.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault.KMSMasterKeyID)
      .filter((k) => k !== undefined);
    expect(kmsKeysOfBuckets).toEqual([{ 'Fn::GetAtt': [id, 'Arn'] }, { 'Fn::GetAtt': [id, 'Arn'] }]);
    template.hasResourceProperties('AWS::ECR::Repository', { EncryptionConfiguration: { EncryptionType: 'KMS', KmsKey: { 'Fn::GetAtt': [id, 'Arn'] } } });
    template.allResourcesProperties('AWS::Logs::LogGroup', { KmsKeyId: { 'Fn::GetAtt': [id, 'Arn'] } });
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: { 'Fn::GetAtt': [id, 'Arn'] } });
    expect(MlOpsKeys.of(stack).stackKey).toBeDefined();
    expect(MlOpsKeys.of(stack).perPurposeKeys).toBe(false);
  });

  test('rotation on, retained, and only AWS services may create grants (CT.KMS.PR.3)', () => {
    template.hasResource('AWS::KMS::Key', { DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain', Properties: { EnableKeyRotation: true } });
    expect(keyStatements(template)).toContainEqual(expect.objectContaining({
      Sid: 'GrantsOnlyForAwsServices',
      Effect: 'Deny',
      Action: 'kms:CreateGrant',
      Condition: { BoolIfExists: { 'kms:GrantIsForAWSResource': 'false', 'aws:PrincipalIsAWSService': 'false' } },
    }));
  });

  test('CloudWatch Logs may use it for this account\'s log groups only (encryption context), one statement for two log groups', () => {
    const logs = keyStatements(template).filter((s) => JSON.stringify(s.Principal).includes('logs.'));
    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatchObject({
      Sid: 'CloudWatchLogsMayUseForLogGroups',
      Condition: { ArnLike: { 'kms:EncryptionContext:aws:logs:arn': expect.anything() } },
    });
  });

  test('CloudWatch alarms may use it for the topic, by source ARN and account only', () => {
    expect(keyStatements(template)).toContainEqual(expect.objectContaining({
      Sid: 'CloudWatchAlarmsMayEncrypt',
      Principal: { Service: 'cloudwatch.amazonaws.com' },
      Condition: { ArnLike: { 'aws:SourceArn': expect.anything() }, StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
    }));
  });

  test('no statement of the key policy allows a principal other than the account, AWS services, or the service uses above', () => {
    const allows = keyStatements(template).filter((s) => s.Effect === 'Allow');
    for (const statement of allows) {
      const principal = JSON.stringify(statement.Principal);
      expect(principal.includes(':root') || statement.Condition !== undefined).toBe(true);
    }
  });
});

describe('MlOpsKeys: the library\'s grants on the shared key go through S3 only', () => {
  test('bucket.grantRead / grantWrite: kms actions with kms:ViaService s3, and no direct use of the key', () => {
    const stack = newStack();
    const { data, models } = everyUse(stack);
    const role = new iam.Role(stack, 'Role', { assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com') });
    data.grantRead(role, 'datasets/');
    models.grantWrite(role, 'runs/');
    const kmsStatements = roleStatements(stack).filter((s) => JSON.stringify(s.Action).includes('kms:'));
    expect(kmsStatements).toEqual([
      { Action: 'kms:Decrypt', Condition: VIA_S3, Effect: 'Allow', Resource: { 'Fn::GetAtt': [expect.stringMatching(/^MlOpsKeysKey/), 'Arn'] } },
      {
        Action: ['kms:Encrypt', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Decrypt'],
        Condition: VIA_S3,
        Effect: 'Allow',
        Resource: { 'Fn::GetAtt': [expect.stringMatching(/^MlOpsKeysKey/), 'Arn'] },
      },
    ]);
  });

  test('aws-cdk-lib\'s own grants through the bucket and a CodeBuild project given its key are scoped the same way', () => {
    const stack = newStack();
    const { data } = everyUse(stack);
    const role = new iam.Role(stack, 'Role', { assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com') });
    data.bucket.grantReadWrite(role);
    new codebuild.PipelineProject(stack, 'Build', { encryptionKey: data.encryptionKey });
    const kmsStatements = roleStatements(stack).filter((s) => JSON.stringify(s.Action).includes('kms:'));
    expect(kmsStatements.length).toBeGreaterThanOrEqual(2);
    for (const statement of kmsStatements) expect(statement.Condition).toEqual(VIA_S3);
    // The project still names the key itself.
    Template.fromStack(stack).hasResourceProperties('AWS::CodeBuild::Project', { EncryptionKey: { 'Fn::GetAtt': [Match.stringLikeRegexp('^MlOpsKeysKey'), 'Arn'] } });
  });
});

describe('MlOpsKeys: per-purpose keys', () => {
  test('perPurposeKeys: a key per bucket and repository, one for the log groups and one for the topic, at their former ids', () => {
    const stack = newStack();
    const keys = new MlOpsKeys(stack, 'Keys', { perPurposeKeys: true });
    everyUse(stack);
    const ids = Object.keys(Template.fromStack(stack).findResources('AWS::KMS::Key')).map((id) => id.replace(/[0-9A-F]{8}$/, '')).sort();
    expect(ids).toEqual(['DataKey', 'ImagesKey', 'MlOpsAlertsKey', 'MlOpsLogsKey', 'ModelsKey']);
    expect(keys.stackKey).toBeUndefined();
    // Every key keeps rotation and the grant restriction.
    Template.fromStack(stack).allResourcesProperties('AWS::KMS::Key', { EnableKeyRotation: true });
  });

  test('the context value cdk-mlops:perPurposeKeys does the same for every stack that does not choose', () => {
    for (const value of [true, 'true']) {
      const stack = newStack({ [MlOpsKeys.PER_PURPOSE_KEYS_CONTEXT]: value });
      everyUse(stack);
      Template.fromStack(stack).resourceCountIs('AWS::KMS::Key', 5);
    }
    const explicit = newStack({ [MlOpsKeys.PER_PURPOSE_KEYS_CONTEXT]: true });
    new MlOpsKeys(explicit, 'Keys', { perPurposeKeys: false });
    everyUse(explicit);
    Template.fromStack(explicit).resourceCountIs('AWS::KMS::Key', 1);
  });
});

describe('MlOpsKeys: keys you bring', () => {
  test('a bucket or repository with its own key uses it and makes no stack key; the bucket\'s grants on it go through S3', () => {
    const stack = newStack();
    const key = kms.Key.fromKeyArn(stack, 'Byo', 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab');
    const data = new VersionedBucket(stack, 'Data', { encryptionKey: key });
    new ModelImageRepository(stack, 'Images', { encryptionKey: key });
    const role = new iam.Role(stack, 'Role', { assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com') });
    data.grantRead(role);
    expect(MlOpsKeys.of(stack).stackKey).toBeUndefined();
    const t = Template.fromStack(stack);
    t.resourceCountIs('AWS::KMS::Key', 0);
    const byDefault = Match.objectLike({ KMSMasterKeyID: key.keyArn });
    t.hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: { ServerSideEncryptionConfiguration: [Match.objectLike({ ServerSideEncryptionByDefault: byDefault })] },
    });
    t.hasResourceProperties('AWS::ECR::Repository', { EncryptionConfiguration: { EncryptionType: 'KMS', KmsKey: key.keyArn } });
    expect(roleStatements(stack)).toContainEqual({ Action: 'kms:Decrypt', Condition: VIA_S3, Effect: 'Allow', Resource: key.keyArn });
    expect(data.encryptionKey?.keyArn).toBe(key.keyArn);
  });
});

describe('MlOpsKeys: one key of yours for every purpose (key)', () => {
  test('a key made in the app: every use encrypts with it, no other key is made, and it gets the services\' statements', () => {
    const stack = newStack();
    const own = new kms.Key(stack, 'OrgKey', { enableKeyRotation: true });
    new MlOpsKeys(stack, 'Keys', { key: own });
    everyUse(stack);
    const template = Template.fromStack(stack);
    const [id] = Object.keys(template.findResources('AWS::KMS::Key'));
    expect(id).toMatch(/^OrgKey/);
    const arn = { 'Fn::GetAtt': [id, 'Arn'] };
    const kmsKeysOfBuckets = Object.values(template.findResources('AWS::S3::Bucket'))
      .map((b: any) => b.Properties.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault.KMSMasterKeyID)
      .filter((k) => k !== undefined);
    expect(kmsKeysOfBuckets).toEqual([arn, arn]);
    template.hasResourceProperties('AWS::ECR::Repository', { EncryptionConfiguration: { EncryptionType: 'KMS', KmsKey: arn } });
    template.allResourcesProperties('AWS::Logs::LogGroup', { KmsKeyId: arn });
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: arn });
    // The log groups can use it: CloudWatch Logs' statement was added to its policy.
    const principals = JSON.stringify(keyStatements(template).map((st) => st.Principal));
    expect(principals).toContain('logs.');
    expect(MlOpsKeys.of(stack).stackKey).toBe(own);
  });

  test('an imported key: used as it is, and no key resource at all in the stack', () => {
    const stack = newStack();
    const imported = kms.Key.fromKeyArn(stack, 'OrgKey', 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab');
    new MlOpsKeys(stack, 'Keys', { key: imported });
    everyUse(stack);
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::KMS::Key', 0);
    template.allResourcesProperties('AWS::Logs::LogGroup', { KmsKeyId: imported.keyArn });
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: imported.keyArn });
  });
});

describe('MlOpsKeys fails when', () => {
  test('both a key and per-purpose keys are asked for', () => {
    const stack = newStack();
    const own = new kms.Key(stack, 'OrgKey');
    expect(() => new MlOpsKeys(stack, 'Keys', { key: own, perPurposeKeys: true })).toThrow(
      /MlOpsKeys 'Test\/Keys': invalid perPurposeKeys true. One key of yours serves every purpose: give key or perPurposeKeys, not both./,
    );
  });

  test('it is created after a construct of this library made the stack\'s key', () => {
    const stack = newStack();
    new VersionedBucket(stack, 'Data');
    expect(() => new MlOpsKeys(stack, 'Keys', { perPurposeKeys: true })).toThrow(
      /MlOpsKeys 'Test\/Keys': invalid scope 'Test'. The stack has an MlOpsKeys already \(Test\/MlOpsKeys, made with the defaults/,
    );
  });

  test('the context value is neither true nor false', () => {
    const stack = newStack({ [MlOpsKeys.PER_PURPOSE_KEYS_CONTEXT]: 'yes' });
    expect(() => new VersionedBucket(stack, 'Data')).toThrow(
      /MlOpsKeys 'Test\/MlOpsKeys': invalid context cdk-mlops:perPurposeKeys 'yes'. Set it to true/,
    );
  });
});
