import { App, CfnParameter, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { MlOpsKeys, ModelImageRepository } from '../../lib';
import { stackFindings } from '../support/compliance';

const DIGEST = `sha256:${'0123456789abcdef'.repeat(4)}`;
const REPOSITORY = 'ImagesF8C4E866';
/** The stack's one key (MlOpsKeys); with per-purpose keys the repository's own key has the id it always had. */
const KEY = 'MlOpsKeysKey562BBE2C';
const OWN_KEY = 'ImagesKey72752799';
const PULL_ACTIONS = ['ecr:BatchCheckLayerAvailability', 'ecr:GetDownloadUrlForLayer', 'ecr:BatchGetImage'];
const PUSH_ACTIONS = ['ecr:CompleteLayerUpload', 'ecr:UploadLayerPart', 'ecr:InitiateLayerUpload', 'ecr:PutImage'];
const VIA_ECR = { StringEquals: { 'kms:ViaService': { 'Fn::Join': ['', ['ecr.', { Ref: 'AWS::Region' }, '.amazonaws.com']] } } };

function newStack(): Stack {
  return new Stack(new App(), 'Test');
}

function role(stack: Stack, id = 'Role'): iam.Role {
  return new iam.Role(stack, id, { assumedBy: new iam.ServicePrincipal('sagemaker.amazonaws.com') });
}

function policyStatements(stack: Stack): unknown[] {
  const policies = Template.fromStack(stack).findResources('AWS::IAM::Policy');
  type Policy = { Properties: { PolicyDocument: { Statement: unknown[] } } };
  return stack.resolve(Object.values(policies).flatMap((p) => (p as Policy).Properties.PolicyDocument.Statement));
}

interface LifecycleRule {
  rulePriority: number;
  description: string;
  selection: Record<string, unknown>;
  action: { type: string };
}

function lifecycleRules(stack: Stack): LifecycleRule[] {
  const repositories = Template.fromStack(stack).findResources('AWS::ECR::Repository');
  const [repository] = Object.values(repositories);
  return JSON.parse(repository.Properties.LifecyclePolicy.LifecyclePolicyText).rules;
}

describe('ModelImageRepository', () => {
  test('with per-purpose keys, the repository has its own key, at the id of earlier versions', () => {
    const stack = newStack();
    new MlOpsKeys(stack, 'Keys', { perPurposeKeys: true });
    new ModelImageRepository(stack, 'Images');
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::KMS::Key', 1);
    template.hasResourceProperties('AWS::ECR::Repository', { EncryptionConfiguration: { EncryptionType: 'KMS', KmsKey: { 'Fn::GetAtt': [OWN_KEY, 'Arn'] } } });
  });

  test('defaults: KMS encryption with a created key, scan on push, immutable tags, retained', () => {
    const stack = newStack();
    const images = new ModelImageRepository(stack, 'Images');

    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::ECR::Repository', 1);
    template.hasResource('AWS::ECR::Repository', {
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: {
        RepositoryName: Match.absent(),
        EncryptionConfiguration: { EncryptionType: 'KMS', KmsKey: { 'Fn::GetAtt': [KEY, 'Arn'] } },
        ImageScanningConfiguration: { ScanOnPush: true },
        ImageTagMutability: 'IMMUTABLE',
        EmptyOnDelete: Match.absent(),
        RepositoryPolicyText: Match.absent(),
      },
    });
    expect(stack.resolve(images.repositoryName)).toEqual({ Ref: REPOSITORY });
    expect(stack.resolve(images.repositoryArn)).toEqual({ 'Fn::GetAtt': [REPOSITORY, 'Arn'] });
    expect(images.repository).toBeInstanceOf(ecr.Repository);
    expect(images.repository.node.path).toBe('Test/Images/Resource');
  });

  test('defaults: the created key rotates, is retained and lets only AWS services create grants', () => {
    const stack = newStack();
    const images = new ModelImageRepository(stack, 'Images');

    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::KMS::Key', 1);
    template.hasResource('AWS::KMS::Key', {
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: {
        EnableKeyRotation: true,
        KeyPolicy: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: 'Deny',
              Action: 'kms:CreateGrant',
              Principal: { AWS: '*' },
              Condition: { BoolIfExists: { 'kms:GrantIsForAWSResource': 'false', 'aws:PrincipalIsAWSService': 'false' } },
            }),
          ]),
        },
      },
    });
    expect(stack.resolve((images.encryptionKey as kms.Key).keyArn)).toEqual({ 'Fn::GetAtt': [KEY, 'Arn'] });
  });

  test('defaults: untagged images expire after 1 day (priority 1), the newest 100 tagged images are kept (priority 2)', () => {
    const stack = newStack();
    new ModelImageRepository(stack, 'Images');

    expect(lifecycleRules(stack)).toEqual([
      {
        rulePriority: 1,
        description: 'Expire untagged images after 1 day',
        selection: { tagStatus: 'untagged', countType: 'sinceImagePushed', countNumber: 1, countUnit: 'days' },
        action: { type: 'expire' },
      },
      {
        rulePriority: 2,
        description: 'Keep the newest 100 tagged images',
        selection: { tagStatus: 'tagged', tagPatternList: ['*'], countType: 'imageCountMoreThan', countNumber: 100 },
        action: { type: 'expire' },
      },
    ]);
  });

  test('takes a name, a key, the lifecycle limits and a removal policy (and never empties the repository)', () => {
    const stack = newStack();
    const key = new kms.Key(stack, 'MyKey', { enableKeyRotation: true });
    const images = new ModelImageRepository(stack, 'Images', {
      repositoryName: 'fraud-detector/serving',
      encryptionKey: key,
      untaggedImageExpiry: Duration.days(7),
      maxTaggedImages: 20,
      removalPolicy: RemovalPolicy.DESTROY,
    });

    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::KMS::Key', 1);
    template.hasResource('AWS::ECR::Repository', {
      DeletionPolicy: 'Delete',
      UpdateReplacePolicy: 'Delete',
      Properties: {
        RepositoryName: 'fraud-detector/serving',
        EncryptionConfiguration: { EncryptionType: 'KMS', KmsKey: { 'Fn::GetAtt': [stack.getLogicalId(key.node.defaultChild as kms.CfnKey), 'Arn'] } },
        EmptyOnDelete: Match.absent(),
      },
    });
    expect(images.encryptionKey).toBe(key);
    expect(lifecycleRules(stack).map((r) => [r.rulePriority, r.selection])).toEqual([
      [1, { tagStatus: 'untagged', countType: 'sinceImagePushed', countNumber: 7, countUnit: 'days' }],
      [2, { tagStatus: 'tagged', tagPatternList: ['*'], countType: 'imageCountMoreThan', countNumber: 20 }],
    ]);
    expect(stack.resolve(images.repositoryName)).toEqual({ Ref: REPOSITORY });
  });

  test('accepts every name form ECR does', () => {
    for (const name of ['ab', 'fraud-detector', 'team/fraud.detector_v2/serving', 'a'.repeat(256)]) {
      expect(() => new ModelImageRepository(newStack(), 'Images', { repositoryName: name })).not.toThrow();
    }
  });

  test('leaves a token name for CloudFormation to check', () => {
    const stack = newStack();
    const name = new CfnParameter(stack, 'Name').valueAsString;
    expect(() => new ModelImageRepository(stack, 'Images', { repositoryName: name })).not.toThrow();
    expect(() => ModelImageRepository.fromRepositoryName(stack, 'Imported', name)).not.toThrow();
    Template.fromStack(stack).hasResourceProperties('AWS::ECR::Repository', { RepositoryName: { Ref: 'Name' } });
  });

  test('uriForDigest and uriForTag append @digest and :tag to the repository URI', () => {
    const stack = newStack();
    const images = new ModelImageRepository(stack, 'Images');
    const arnPart = (i: number) => ({ 'Fn::Select': [i, { 'Fn::Split': [':', { 'Fn::GetAtt': [REPOSITORY, 'Arn'] }] }] });
    const uri = (suffix: string) => ({
      'Fn::Join': ['', [arnPart(4), '.dkr.ecr.', arnPart(3), '.', { Ref: 'AWS::URLSuffix' }, '/', { Ref: REPOSITORY }, ...(suffix ? [suffix] : [])]],
    });
    expect(stack.resolve(images.repositoryUri)).toEqual(uri(''));
    expect(stack.resolve(images.uriForDigest(DIGEST))).toEqual(uri(`@${DIGEST}`));
    expect(stack.resolve(images.uriForTag('v42'))).toEqual(uri(':v42'));
  });

  test('grantPull: ECR pull actions on the repository, an auth token, and kms:Decrypt on the key through ECR only', () => {
    const stack = newStack();
    const images = new ModelImageRepository(stack, 'Images');
    images.grantPull(role(stack));

    expect(policyStatements(stack)).toEqual([
      { Action: PULL_ACTIONS, Effect: 'Allow', Resource: { 'Fn::GetAtt': [REPOSITORY, 'Arn'] } },
      { Action: 'ecr:GetAuthorizationToken', Effect: 'Allow', Resource: '*' },
      { Action: 'kms:Decrypt', Condition: VIA_ECR, Effect: 'Allow', Resource: { 'Fn::GetAtt': [KEY, 'Arn'] } },
    ]);
  });

  test('grantPush: pull and push actions, an auth token, and encrypt/decrypt on the key through ECR only', () => {
    const stack = newStack();
    const images = new ModelImageRepository(stack, 'Images');
    images.grantPush(role(stack));

    expect(policyStatements(stack)).toEqual([
      { Action: [...PULL_ACTIONS, ...PUSH_ACTIONS], Effect: 'Allow', Resource: { 'Fn::GetAtt': [REPOSITORY, 'Arn'] } },
      { Action: 'ecr:GetAuthorizationToken', Effect: 'Allow', Resource: '*' },
      {
        Action: ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey'],
        Condition: VIA_ECR,
        Effect: 'Allow',
        Resource: { 'Fn::GetAtt': [KEY, 'Arn'] },
      },
    ]);
  });

  test('grants on a given key are made on that key, and leave the repository and key policies alone', () => {
    const stack = newStack();
    const key = new kms.Key(stack, 'MyKey', { enableKeyRotation: true });
    const images = new ModelImageRepository(stack, 'Images', { encryptionKey: key });
    images.grantPull(role(stack));

    const keyId = stack.getLogicalId(key.node.defaultChild as kms.CfnKey);
    expect(policyStatements(stack)).toContainEqual(
      { Action: 'kms:Decrypt', Condition: VIA_ECR, Effect: 'Allow', Resource: { 'Fn::GetAtt': [keyId, 'Arn'] } },
    );
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::ECR::Repository', { RepositoryPolicyText: Match.absent() });
    const keyPolicy = JSON.stringify(template.findResources('AWS::KMS::Key'));
    expect(keyPolicy).not.toContain('kms:Decrypt');
  });

  test('imports by name: attributes in this stack\'s account and region, ECR-only grants', () => {
    const stack = newStack();
    const images = ModelImageRepository.fromRepositoryName(stack, 'Imported', 'team/model');

    expect(images.repositoryName).toBe('team/model');
    expect(stack.resolve(images.repositoryArn)).toEqual({
      'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':ecr:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':repository/team/model']],
    });
    const uri = [{ Ref: 'AWS::AccountId' }, '.dkr.ecr.', { Ref: 'AWS::Region' }, '.', { Ref: 'AWS::URLSuffix' }, '/team/model'];
    expect(stack.resolve(images.repositoryUri)).toEqual({ 'Fn::Join': ['', uri] });
    expect(stack.resolve(images.uriForTag('v1'))).toEqual({ 'Fn::Join': ['', [...uri.slice(0, -1), '/team/model:v1']] });
    expect(stack.resolve(images.uriForDigest(DIGEST))).toEqual({ 'Fn::Join': ['', [...uri.slice(0, -1), `/team/model@${DIGEST}`]] });
    expect(images.repository.repositoryName).toBe('team/model');

    images.grantPush(role(stack));
    const statements = JSON.stringify(policyStatements(stack));
    expect(statements).toContain('"ecr:PutImage"');
    expect(statements).not.toContain('kms:');
    Template.fromStack(stack).resourceCountIs('AWS::ECR::Repository', 0);
  });

  test('imports by ARN, also from another account and region, with a literal URI', () => {
    const stack = newStack();
    const images = ModelImageRepository.fromRepositoryArn(stack, 'Imported', 'arn:aws:ecr:us-east-1:444455556666:repository/team/model');

    expect(images.repositoryName).toBe('team/model');
    expect(images.repositoryArn).toBe('arn:aws:ecr:us-east-1:444455556666:repository/team/model');
    expect(images.env).toEqual(expect.objectContaining({ account: '444455556666', region: 'us-east-1' }));
    const uri = (suffix: string) => ({ 'Fn::Join': ['', ['444455556666.dkr.ecr.us-east-1.', { Ref: 'AWS::URLSuffix' }, `/team/model${suffix}`]] });
    expect(stack.resolve(images.repositoryUri)).toEqual(uri(''));
    expect(stack.resolve(images.uriForDigest(DIGEST))).toEqual(uri(`@${DIGEST}`));
    expect(stack.resolve(images.uriForTag('prod'))).toEqual(uri(':prod'));

    images.grantPull(role(stack));
    expect(policyStatements(stack)).toEqual([
      { Action: PULL_ACTIONS, Effect: 'Allow', Resource: 'arn:aws:ecr:us-east-1:444455556666:repository/team/model' },
      { Action: 'ecr:GetAuthorizationToken', Effect: 'Allow', Resource: '*' },
    ]);
  });

  test('has no unacknowledged cdk-nag or AWS Control Tower finding at its defaults', () => {
    expect(stackFindings((stack) => new ModelImageRepository(stack, 'Images'), { controlTower: true })).toEqual([]);
  });

  describe('fails when', () => {
    test.each([
      ['"Upper" (upper case)', 'Upper'],
      ['"a" (1 character)', 'a'],
      ['257 characters long', 'a'.repeat(257)],
      ['"-lead" (leading separator)', '-lead'],
      ['"trail-" (trailing separator)', 'trail-'],
      ['"double--dash" (two separators in a row)', 'double--dash'],
      ['"slash//slash" (empty path segment)', 'slash//slash'],
      ['"/lead" (leading slash)', '/lead'],
      ['"has space"', 'has space'],
      ['empty', ''],
    ])(
      'the repository name is %s',
      (_label, name) => {
        expect(() => new ModelImageRepository(newStack(), 'Images', { repositoryName: name })).toThrow(
          /ModelImageRepository 'Test\/Images': invalid repositoryName .*Use 2-256 lowercase letters and digits/,
        );
      },
    );

    test('an imported name is invalid', () => {
      expect(() => ModelImageRepository.fromRepositoryName(newStack(), 'Imported', 'Team/Model')).toThrow(
        /ModelImageRepository 'Test': invalid repositoryName 'Team\/Model'\. Use 2-256 lowercase/,
      );
    });

    test('the ARN is not an ECR repository ARN', () => {
      expect(() => ModelImageRepository.fromRepositoryArn(newStack(), 'Imported', 'arn:aws:s3:::bucket/key')).toThrow(
        /invalid repositoryArn 'arn:aws:s3:::bucket\/key'\. Pass a literal ARN like arn:aws:ecr:<region>:<account>:repository\/<name>/,
      );
    });

    test('the ARN is a token (the name cannot be told apart from it)', () => {
      const stack = newStack();
      const arn = new CfnParameter(stack, 'Arn').valueAsString;
      expect(() => ModelImageRepository.fromRepositoryArn(stack, 'Imported', arn)).toThrow(
        /invalid repositoryArn .*or import by name with fromRepositoryName\(\)/,
      );
    });

    test('the name in the ARN is invalid', () => {
      expect(() => ModelImageRepository.fromRepositoryArn(newStack(), 'Imported', 'arn:aws:ecr:us-east-1:444455556666:repository/Bad_')).toThrow(
        /invalid repositoryName 'Bad_'/,
      );
    });

    test.each([0, -1, 2.5])('maxTaggedImages is %p', (maxTaggedImages) => {
      expect(() => new ModelImageRepository(newStack(), 'Images', { maxTaggedImages })).toThrow(
        new RegExp(`ModelImageRepository 'Test/Images': invalid maxTaggedImages ${maxTaggedImages}\\. Keep a whole number of at least 1`),
      );
    });

    test('maxTaggedImages is a token (the lifecycle policy text would hold it unresolved)', () => {
      const stack = newStack();
      const maxTaggedImages = new CfnParameter(stack, 'Count', { type: 'Number' }).valueAsNumber;
      expect(() => new ModelImageRepository(stack, 'Images', { maxTaggedImages })).toThrow(
        /invalid maxTaggedImages '\$\{Token\[.*\]\}'\. aws-cdk-lib writes the lifecycle policy as JSON text .*pass a literal value/,
      );
    });

    test.each([
      ['12 hours', Duration.hours(12)],
      ['30 minutes', Duration.minutes(30)],
      ['1 day 12 hours', Duration.hours(36)],
    ])('untaggedImageExpiry is %s (shorter than a day, or not whole days)', (rendered, untaggedImageExpiry) => {
      expect(() => new ModelImageRepository(newStack(), 'Images', { untaggedImageExpiry })).toThrow(
        new RegExp(`invalid untaggedImageExpiry '${rendered}'\\. ECR counts image age in whole days: use Duration\\.days\\(n\\)`),
      );
    });

    test('untaggedImageExpiry is a token (the lifecycle policy text would hold it unresolved)', () => {
      const stack = newStack();
      const untaggedImageExpiry = Duration.days(new CfnParameter(stack, 'Days', { type: 'Number' }).valueAsNumber);
      expect(() => new ModelImageRepository(stack, 'Images', { untaggedImageExpiry })).toThrow(
        /invalid untaggedImageExpiry .*aws-cdk-lib writes the lifecycle policy as JSON text .*pass a literal value/,
      );
    });

    test.each([
      ['"latest" (a tag)', 'latest'],
      ['upper-case hexadecimal', `sha256:${'A'.repeat(64)}`],
      ['too short', 'sha256:abc'],
      ['sha512', `sha512:${'0'.repeat(128)}`],
    ])('a digest is %s', (_label, digest) => {
      const images = new ModelImageRepository(newStack(), 'Images');
      expect(() => images.uriForDigest(digest)).toThrow(/invalid digest .*"sha256:" followed by 64 lowercase hexadecimal digits/);
    });

    test.each([
      ['empty', ''],
      ['"-v1" (leading dash)', '-v1'],
      ['".v1" (leading dot)', '.v1'],
      ['"v 1" (space)', 'v 1'],
      ['129 characters long', 'a'.repeat(129)],
    ])('a tag is %s', (_label, tag) => {
      const images = ModelImageRepository.fromRepositoryName(newStack(), 'Imported', 'team/model');
      expect(() => images.uriForTag(tag)).toThrow(/ModelImageRepository 'Test\/Imported': invalid tag .*Use 1-128 letters, digits/);
    });
  });
});
