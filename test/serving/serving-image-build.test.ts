import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, CfnParameter, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as codebuild from 'aws-cdk-lib/aws-codebuild';
import * as iam from 'aws-cdk-lib/aws-iam';
import { BucketPurpose, ModelImageRepository, ModelPackageGroup, VersionedBucket } from '../../lib';
import { servingBuildSpec } from '../../lib/serving/buildspec';
import { ScanSeverity, ServingImageBuild, ServingImageBuildProps } from '../../lib/serving/serving-image-build';
import { RESOLVED_SOURCE_VERSION } from '../fixtures/aws/codebuild';
import { stackFindings } from '../support/compliance';

const REPOSITORY = 'ImagesF8C4E866';
const DIGEST = `sha256:${'0123456789abcdef'.repeat(4)}`;

interface BuildSpecPhase {
  'on-failure'?: string;
  'commands': string[];
  'finally'?: string[];
}

interface BuildSpec {
  version: string;
  env: { 'shell': string; 'variables': Record<string, string>; 'exported-variables': string[] };
  phases: { pre_build: BuildSpecPhase; build: BuildSpecPhase; post_build: BuildSpecPhase };
  artifacts: { files: string[] };
}

type Options = Omit<ServingImageBuildProps, 'repository'>;

/** A stack with a repository, a model package group and a model bucket, and the build (with `options`). */
function fixture(options: Options = {}, withDependencies = true) {
  const stack = new Stack(new App(), 'Test');
  const images = new ModelImageRepository(stack, 'Images');
  const models = new ModelPackageGroup(stack, 'Models', { modelPackageGroupName: 'fraud' });
  const artifacts = new VersionedBucket(stack, 'Artifacts', { purpose: BucketPurpose.MODELS });
  const build = new ServingImageBuild(stack, 'Build', {
    repository: images,
    ...(withDependencies ? { modelPackageGroup: models, modelBucket: artifacts } : {}),
    ...options,
  });
  return { stack, images, models, artifacts, build, template: Template.fromStack(stack) };
}

function projectOf(template: Template): Record<string, any> {
  const projects = Object.values(template.findResources('AWS::CodeBuild::Project'));
  expect(projects).toHaveLength(1);
  return projects[0].Properties;
}

/** The buildspec as CodeBuild reads it: the template's string, JSON (a subset of YAML). */
function buildSpecOf(template: Template): BuildSpec {
  const source = projectOf(template).Source;
  expect(typeof source.BuildSpec).toBe('string');
  return JSON.parse(source.BuildSpec);
}

function commandsOf(spec: BuildSpec): string {
  const { pre_build: pre, build, post_build: post } = spec.phases;
  return [...pre.commands, ...build.commands, ...(build.finally ?? []), ...post.commands].join('\n');
}

/** Each fragment occurs in `text`, after the one before it. */
function expectInOrder(text: string, fragments: string[]): void {
  let from = 0;
  for (const fragment of fragments) {
    const at = text.indexOf(fragment, from);
    if (at < 0) throw new Error(`'${fragment}' not found after position ${from}${text.includes(fragment) ? ' (it comes earlier)' : ''}`);
    from = at + fragment.length;
  }
}

function statementsOf(stack: Stack): any[] {
  const policies = Template.fromStack(stack).findResources('AWS::IAM::Policy');
  return stack.resolve(Object.values(policies).flatMap((p: any) => p.Properties.PolicyDocument.Statement));
}

function actionsOf(statement: any): string[] {
  return ([] as string[]).concat(statement.Action);
}

describe('ServingImageBuild defaults', () => {
  const { build, template } = fixture();
  const project = projectOf(template);
  const spec = buildSpecOf(template);
  const commands = commandsOf(spec);

  test('a PipelineProject on the pipeline\'s source artifact, privileged, newest standard image, MEDIUM, 60 minutes', () => {
    expect(project.Source.Type).toBe('CODEPIPELINE');
    expect(project.Artifacts).toEqual({ Type: 'CODEPIPELINE' });
    expect(project.Environment).toEqual(expect.objectContaining({
      Type: 'LINUX_CONTAINER',
      Image: 'aws/codebuild/standard:8.0',
      ComputeType: 'BUILD_GENERAL1_MEDIUM',
      PrivilegedMode: true,
    }));
    expect(project.TimeoutInMinutes).toBe(60);
    expect(project.Cache).toEqual({ Type: 'LOCAL', Modes: ['LOCAL_DOCKER_LAYER_CACHE'] });
    expect(build.project.node.defaultChild).toBeInstanceOf(codebuild.CfnProject);
    expect(build.project.node.id).toBe('Resource');
  });

  test('artifacts encrypted with the stack key, rotated, retained key (MlOpsKeys)', () => {
    expect(project.EncryptionKey).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^MlOpsKeysKey/), 'Arn'] });
    const keyId = project.EncryptionKey['Fn::GetAtt'][0];
    const key = template.toJSON().Resources[keyId];
    expect(key.DeletionPolicy).toBe('Retain');
    expect(key.Properties.EnableKeyRotation).toBe(true);
  });

  test('logs to its own KMS-encrypted log group, kept a year', () => {
    expect(project.LogsConfig).toEqual({
      CloudWatchLogs: { Status: 'ENABLED', GroupName: { Ref: expect.stringMatching(/^BuildLogs/) } },
    });
    template.hasResource('AWS::Logs::LogGroup', {
      DeletionPolicy: 'Retain',
      Properties: { RetentionInDays: 365, KmsKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^MlOpsKeysKey'), 'Arn'] } },
    });
  });

  test('only plaintext, non-secret environment variables: the repository\'s URI and name', () => {
    const variables = project.Environment.EnvironmentVariables;
    expect(variables.map((v: any) => [v.Name, v.Type])).toEqual([['REPOSITORY_URI', 'PLAINTEXT'], ['REPOSITORY_NAME', 'PLAINTEXT']]);
    expect(variables[1].Value).toEqual({ Ref: REPOSITORY });
  });

  test('buildspec 0.2 in bash, every phase aborts the build on failure', () => {
    expect(spec.version).toBe('0.2');
    expect(spec.env.shell).toBe('bash');
    for (const phase of Object.values(spec.phases)) {
      expect(phase['on-failure']).toBe('ABORT');
      for (const command of phase.commands) expect(command.startsWith('set -euo pipefail\n')).toBe(true);
    }
  });

  test('the build options are buildspec variables', () => {
    expect(spec.env.variables).toEqual({
      BASE_IMAGE: 'public.ecr.aws/docker/library/python:3.12-slim',
      DOCKERFILE: 'Dockerfile',
      GOLDEN_DIRECTORY: 'tests/golden',
      STARTUP_TIMEOUT_SECONDS: '60',
    });
  });

  test('model resolution: the model package, else MODEL_DATA_URL and MODEL_VERSION, else a clear failure', () => {
    const resolve = spec.phases.pre_build.commands[1];
    expectInOrder(resolve, [
      'if [ -n "${MODEL_PACKAGE_ARN:-}" ]; then',
      'aws sagemaker describe-model-package --model-package-name "$MODEL_PACKAGE_ARN"',
      '.InferenceSpecification.Containers[0].ModelDataUrl',
      '.ModelPackageVersion',
      'elif [ -z "${MODEL_DATA_URL:-}" ] || [ -z "${MODEL_VERSION:-}" ]; then',
      'echo "ERROR: no model to package. Set MODEL_PACKAGE_ARN',
      'exit 1',
      's3://*',
      'export MODEL_DATA_URL MODEL_VERSION',
    ]);
  });

  test('the tag is the model version and the first 12 characters of the commit (COMMIT_ID, else CodeBuild\'s)', () => {
    expectInOrder(spec.phases.pre_build.commands[2], [
      'COMMIT="${COMMIT_ID:-${CODEBUILD_RESOLVED_SOURCE_VERSION:-}}"',
      'IMAGE_TAG="${MODEL_VERSION}-$(printf \'%s\' "${COMMIT:0:12}"',
      'export COMMIT IMAGE_TAG',
    ]);
  });

  test('an existing tag is reused: no model download, build, contract test or push', () => {
    expectInOrder(spec.phases.pre_build.commands[3], [
      'aws ecr describe-images --registry-id "$REGISTRY_ID" --region "$ECR_REGION" --repository-name "$REPOSITORY_NAME"',
      '--image-ids imageTag="$IMAGE_TAG"',
      'IMAGE_EXISTS=true',
      'elif grep -q ImageNotFoundException',
      'IMAGE_EXISTS=false',
      'else',
      'exit 1',
    ]);
    const [, download] = spec.phases.pre_build.commands.slice(4);
    for (const command of [download, ...spec.phases.build.commands.slice(0, 2)]) {
      expect(command).toContain('if [ "$IMAGE_EXISTS" = true ]; then');
    }
    expect(spec.phases.build.commands[2]).toContain('if [ "$IMAGE_EXISTS" != true ]; then');
  });

  test('phases in order: resolve, tag, reuse, login, download, build, contract test, push, scan gate, outputs', () => {
    expectInOrder(commands, [
      'aws sagemaker describe-model-package',
      'IMAGE_TAG="${MODEL_VERSION}-',
      'describe-images',
      'aws ecr get-login-password --region "$ECR_REGION" | docker login --username AWS --password-stdin "$REGISTRY"',
      'aws s3 cp --no-progress "$MODEL_DATA_URL"',
      'tar -xzf "$BUILD_TMP"/model.tar.gz -C model',
      'docker build --file "$DOCKERFILE"',
      '--build-arg BASE_IMAGE="$BASE_IMAGE"',
      '--build-arg MODEL_VERSION="$MODEL_VERSION"',
      '--tag "$REPOSITORY_URI:$IMAGE_TAG" .',
      'docker run -d --name mlops-contract-test -p 8080:8080 "$REPOSITORY_URI:$IMAGE_TAG" serve',
      'http://localhost:8080/ping',
      'http://localhost:8080/invocations',
      'docker push "$REPOSITORY_URI:$IMAGE_TAG"',
      'aws ecr wait image-scan-complete',
      'describe-image-scan-findings',
      'IMAGE_URI="$REPOSITORY_URI@$IMAGE_DIGEST"',
      '> imageDetail.json',
    ]);
  });

  test('contract test: ping with a deadline, each golden request answers JSON, compared to the expected response if any', () => {
    const test = spec.phases.build.commands[1];
    expectInOrder(test, [
      'fail() {',
      'docker logs mlops-contract-test',
      'exit 1',
      'docker run -d --name mlops-contract-test -p 8080:8080',
      'deadline=$((SECONDS + STARTUP_TIMEOUT_SECONDS))',
      'until [ "$(curl -s -o /dev/null -w \'%{http_code}\' --max-time 5 http://localhost:8080/ping || true)" = 200 ]; do',
      'fail "the container exited"',
      'if [ "$SECONDS" -ge "$deadline" ]; then fail "GET /ping did not answer 200',
      'for request in "$GOLDEN_DIRECTORY"/*.json; do',
      '*.expected.json) continue',
      '-H \'Content-Type: application/json\' --data-binary "@$request" http://localhost:8080/invocations',
      'if [ "$status" != 200 ]; then fail',
      'jq -S . "$BUILD_TMP"/response.json > "$BUILD_TMP"/actual.json',
      'expected="${request%.json}.expected.json"',
      'if [ -f "$expected" ]; then',
      'jq -S . "$expected" > "$BUILD_TMP"/expected.json',
      'diff -u "$BUILD_TMP"/expected.json "$BUILD_TMP"/actual.json || fail',
      'if [ "$requests" -eq 0 ]; then',
      'docker rm -f mlops-contract-test',
    ]);
    expect(spec.phases.build.finally).toEqual(['docker rm -f mlops-contract-test >/dev/null 2>&1 || true']);
  });

  test('the push takes the digest from ECR; the scan gate fails on HIGH or CRITICAL findings', () => {
    expectInOrder(spec.phases.build.commands[2], [
      'docker push "$REPOSITORY_URI:$IMAGE_TAG"',
      'IMAGE_DIGEST="$(aws ecr describe-images',
      '--query \'imageDetails[0].imageDigest\'',
      '^sha256:[a-f0-9]{64}$',
    ]);
    expectInOrder(spec.phases.post_build.commands[0], [
      'aws ecr wait image-scan-complete --registry-id "$REGISTRY_ID" --region "$ECR_REGION" --repository-name "$REPOSITORY_NAME"' +
        ' --image-id imageDigest="$IMAGE_DIGEST"',
      'imageScanFindings.findingSeverityCounts',
      'for level in CRITICAL HIGH; do',
      'if [ "$blocking" -gt 0 ]; then',
      'at or above HIGH',
      'exit 1',
    ]);
  });

  test('exports IMAGE_URI, IMAGE_TAG, IMAGE_DIGEST, MODEL_VERSION and the lineage, and writes imageDetail.json', () => {
    expect(spec.env['exported-variables']).toEqual(['IMAGE_URI', 'IMAGE_TAG', 'IMAGE_DIGEST', 'MODEL_VERSION', 'MODEL_PACKAGE_ARN', 'DATA_VERSION_ID']);
    expect(spec.artifacts).toEqual({ files: ['imageDetail.json'] });
    expect(spec.phases.post_build.commands[1]).toContain('export IMAGE_URI');
    expect([ServingImageBuild.IMAGE_URI_VARIABLE, ServingImageBuild.IMAGE_TAG_VARIABLE, ServingImageBuild.IMAGE_DIGEST_VARIABLE,
      ServingImageBuild.MODEL_VERSION_VARIABLE]).toEqual(spec.env['exported-variables'].slice(0, 4));
    expect(ServingImageBuild.MODEL_PACKAGE_ARN_VARIABLE).toBe('MODEL_PACKAGE_ARN');
    expect(ServingImageBuild.MODEL_DATA_URL_VARIABLE).toBe('MODEL_DATA_URL');
    expect(ServingImageBuild.IMAGE_DETAIL_FILE).toBe('imageDetail.json');
  });

  test('never the latest tag: every image reference is by the content tag or the digest', () => {
    expect(project.Source.BuildSpec).not.toMatch(/latest/i);
    const references = commands.match(/\$REPOSITORY_URI[:@]\S*/g) ?? [];
    expect(references.length).toBeGreaterThan(3);
    for (const reference of references) expect(reference).toMatch(/^\$REPOSITORY_URI(:\$IMAGE_TAG|@\$IMAGE_DIGEST)/);
  });

  test('every command is valid bash', () => {
    for (const command of Object.values(spec.phases).flatMap((p) => [...p.commands, ...(p.finally ?? [])])) {
      const check = spawnSync('bash', ['-n'], { input: command, encoding: 'utf-8' });
      expect({ command, stderr: check.stderr }).toEqual({ command, stderr: '' });
    }
  });

  test('exposes the project, its role as grant principal, and the repository', () => {
    expect(build.grantPrincipal).toBe(build.role);
    expect(build.role).toBe(build.project.role);
    expect(build.repository.repositoryArn).toBeDefined();
    expect(build.encryptionKey).toBeDefined();
    expect(build.logGroup).toBeDefined();
  });
});

describe('ServingImageBuild IAM', () => {
  const { stack } = fixture();
  const statements = statementsOf(stack);
  const repositoryArn = { 'Fn::GetAtt': [REPOSITORY, 'Arn'] };

  test('pushes to the repository only, and gets the ECR login token', () => {
    const ecrStatements = statements.filter((s) => actionsOf(s).some((a) => a.startsWith('ecr:')));
    for (const statement of ecrStatements) {
      if (actionsOf(statement).includes('ecr:GetAuthorizationToken')) {
        expect(statement).toEqual({ Effect: 'Allow', Action: 'ecr:GetAuthorizationToken', Resource: '*' });
      } else {
        expect(statement.Resource).toEqual(repositoryArn);
      }
    }
    const granted = ecrStatements.flatMap(actionsOf);
    expect(granted).toEqual(expect.arrayContaining(['ecr:PutImage', 'ecr:InitiateLayerUpload', 'ecr:UploadLayerPart',
      'ecr:CompleteLayerUpload', 'ecr:BatchCheckLayerAvailability', 'ecr:DescribeImages', 'ecr:DescribeImageScanFindings']));
  });

  test('uses the repository key only through ECR', () => {
    expect(statements).toContainEqual(expect.objectContaining({
      Action: ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey'],
      Resource: { 'Fn::GetAtt': [expect.stringMatching(/^MlOpsKeysKey/), 'Arn'] },
      Condition: { StringEquals: { 'kms:ViaService': expect.anything() } },
    }));
  });

  test('describes the model packages of its group', () => {
    const describe = statements.find((s) => actionsOf(s).includes('sagemaker:DescribeModelPackage'));
    expect(describe.Resource).toContainEqual({
      'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':sagemaker:', { Ref: 'AWS::Region' }, ':',
        { Ref: 'AWS::AccountId' }, ':model-package/fraud/*']],
    });
  });

  test('reads the models under runs/ only', () => {
    const read = statements.find((s) => actionsOf(s).includes('s3:GetObject'));
    expect(read.Resource).toEqual({ 'Fn::Join': ['', [{ 'Fn::GetAtt': [expect.stringMatching(/^Artifacts/), 'Arn'] }, '/runs/*']] });
    const list = statements.find((s) => actionsOf(s).includes('s3:ListBucket'));
    expect(list.Condition).toEqual({ StringLike: { 's3:prefix': ['runs/*'] } });
  });

  test('grants nothing on the model registry or a bucket when none is given', () => {
    const { stack: bare } = fixture({}, false);
    const actions = statementsOf(bare).flatMap(actionsOf);
    expect(actions.filter((a) => a.startsWith('sagemaker:') || a.startsWith('s3:'))).toEqual([]);
  });

  test('grantPrincipal receives further grants on the project\'s role', () => {
    const s = new Stack(new App(), 'Test');
    const b = new ServingImageBuild(s, 'Build', { repository: new ModelImageRepository(s, 'Images') });
    b.grantPrincipal.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['ecr:BatchImportUpstreamImage'], resources: ['*'] }));
    expect(statementsOf(s).flatMap(actionsOf)).toContain('ecr:BatchImportUpstreamImage');
  });
});

describe('ServingImageBuild compliance', () => {
  test('has no unacknowledged finding in the five cdk-nag packs and the Control Tower rules', () => {
    expect(stackFindings((s) => {
      new ServingImageBuild(s, 'Build', {
        repository: new ModelImageRepository(s, 'Images'),
        modelPackageGroup: new ModelPackageGroup(s, 'Models'),
        modelBucket: new VersionedBucket(s, 'Artifacts', { purpose: BucketPurpose.MODELS }),
      });
    }, { controlTower: true })).toEqual([]);
  });

  test('none either with the repository alone', () => {
    expect(stackFindings((s) => {
      new ServingImageBuild(s, 'Build', { repository: new ModelImageRepository(s, 'Images') });
    }, { controlTower: true })).toEqual([]);
  });

  test('privileged mode is exempted from Control Tower CT.CODEBUILD.PR.4 on this project, with the reason', () => {
    const { template } = fixture();
    const [project] = Object.values(template.findResources('AWS::CodeBuild::Project'));
    expect(project.Metadata['cdk-mlops:control-tower-exemptions']).toEqual({
      codebuild_project_environment_privileged_check: expect.stringContaining('Docker daemon'),
    });
  });
});

describe('ServingImageBuild options', () => {
  test('base image, Dockerfile, golden directory, startup timeout', () => {
    const { template } = fixture({
      baseImage: '111122223333.dkr.ecr.eu-west-1.amazonaws.com/docker-hub/library/python:3.12-slim',
      dockerfile: 'serving/Dockerfile.sagemaker',
      goldenDirectory: 'serving/golden/',
      startupTimeout: Duration.minutes(5),
    });
    expect(buildSpecOf(template).env.variables).toEqual({
      BASE_IMAGE: '111122223333.dkr.ecr.eu-west-1.amazonaws.com/docker-hub/library/python:3.12-slim',
      DOCKERFILE: 'serving/Dockerfile.sagemaker',
      GOLDEN_DIRECTORY: 'serving/golden',
      STARTUP_TIMEOUT_SECONDS: '300',
    });
  });

  test.each(['public.ecr.aws/docker/library/python:3.12-slim', 'ghcr.io/org/serving-base:1.2', 'localhost:5000/base',
    `public.ecr.aws/lambda/python@${DIGEST}`])('accepts the base image %s', (baseImage) => {
    expect(() => fixture({ baseImage })).not.toThrow();
  });

  test.each([
    [ScanSeverity.CRITICAL, 'CRITICAL'],
    [ScanSeverity.MEDIUM, 'CRITICAL HIGH MEDIUM'],
    [ScanSeverity.INFORMATIONAL, 'CRITICAL HIGH MEDIUM LOW INFORMATIONAL'],
  ])('failOnSeverity %s fails on %s', (failOnSeverity, levels) => {
    const spec = buildSpecOf(fixture({ failOnSeverity }).template);
    expect(spec.phases.post_build.commands[0]).toContain(`for level in ${levels}; do`);
    expect(spec.phases.post_build.commands[0]).toContain(`at or above ${failOnSeverity}`);
  });

  test('ScanSeverity.NONE neither waits for the scan nor reads its findings', () => {
    const spec = buildSpecOf(fixture({ failOnSeverity: ScanSeverity.NONE }).template);
    const commands = commandsOf(spec);
    expect(commands).not.toContain('image-scan');
    expect(spec.phases.post_build.commands).toHaveLength(1);
    expect(spec.phases.post_build.commands[0]).toContain('imageDetail.json');
  });

  test('timeout, compute type and model prefix', () => {
    const { stack, template } = fixture({
      timeout: Duration.hours(2),
      computeType: codebuild.ComputeType.LARGE,
      modelPrefix: 'models/fraud/',
    });
    const project = projectOf(template);
    expect(project.TimeoutInMinutes).toBe(120);
    expect(project.Environment.ComputeType).toBe('BUILD_GENERAL1_LARGE');
    const read = statementsOf(stack).find((s) => actionsOf(s).includes('s3:GetObject'));
    expect(read.Resource['Fn::Join'][1][1]).toBe('/models/fraud/*');
    expect(stackFindings((s) => {
      new ServingImageBuild(s, 'Build', {
        repository: new ModelImageRepository(s, 'Images'),
        modelBucket: new VersionedBucket(s, 'Artifacts', { purpose: BucketPurpose.MODELS }),
        modelPrefix: 'models/fraud/',
      });
    })).toEqual([]);
  });

  test('the limits are 5 minutes and 36 hours', () => {
    expect(projectOf(fixture({ timeout: Duration.minutes(5) }).template).TimeoutInMinutes).toBe(5);
    expect(projectOf(fixture({ timeout: Duration.hours(36) }).template).TimeoutInMinutes).toBe(2160);
  });

  test('tokens are left to CloudFormation', () => {
    const stack = new Stack(new App(), 'Test');
    const image = new CfnParameter(stack, 'BaseImage').valueAsString;
    const minutes = new CfnParameter(stack, 'Minutes', { type: 'Number' }).valueAsNumber;
    expect(() => new ServingImageBuild(stack, 'Build', {
      repository: new ModelImageRepository(stack, 'Images'),
      baseImage: image,
      timeout: Duration.minutes(minutes),
    })).not.toThrow();
  });

  test('an imported repository in another account and region', () => {
    const stack = new Stack(new App(), 'Test');
    const repository = ModelImageRepository.fromRepositoryArn(stack, 'Images',
      'arn:aws:ecr:eu-west-1:444455556666:repository/fraud/serving');
    new ServingImageBuild(stack, 'Build', { repository });
    const variables = projectOf(Template.fromStack(stack)).Environment.EnvironmentVariables;
    expect(stack.resolve(variables[1].Value)).toBe('fraud/serving');
    expect(JSON.stringify(stack.resolve(variables[0].Value))).toContain('444455556666.dkr.ecr.eu-west-1.');
  });
});

describe('ServingImageBuild fails when', () => {
  test.each([
    'python:3.12-slim',
    'library/python:3.12-slim',
    'myorg/serving-base:1.0',
    'docker.io/library/python:3.12-slim',
    'registry-1.docker.io/library/python:3.12-slim',
    'index.docker.io/library/python',
  ])('the base image %s is on Docker Hub', (baseImage) => {
    expect(() => fixture({ baseImage })).toThrow(
      /ServingImageBuild 'Test\/Build': invalid baseImage .*use ECR Public \(public\.ecr\.aws\/\.\.\.\) or an ECR pull-through cache/);
  });

  test('the base image is empty', () => {
    expect(() => fixture({ baseImage: ' ' })).toThrow(/invalid baseImage ' '/);
  });

  test.each([Duration.minutes(4), Duration.hours(37), Duration.seconds(390)])('the timeout is %s', (timeout) => {
    expect(() => fixture({ timeout })).toThrow(/invalid timeout .*whole minutes from 5 to 2160/);
  });

  test.each(['/src/Dockerfile', '../Dockerfile', 'serving/../../Dockerfile', '', 'C:\\serving\\Dockerfile'])(
    'the Dockerfile path is %p', (dockerfile) => {
      expect(() => fixture({ dockerfile })).toThrow(/invalid dockerfile .*relative to the root of the source artifact/);
    });

  test.each(['/golden', '..', 'tests/../../golden'])('the golden directory is %p', (goldenDirectory) => {
    expect(() => fixture({ goldenDirectory })).toThrow(/invalid goldenDirectory .*without "\.\."/);
  });

  test.each([Duration.seconds(0), Duration.hours(2), Duration.millis(1500)])('the startup timeout is %s', (startupTimeout) => {
    expect(() => fixture({ startupTimeout })).toThrow(/invalid startupTimeout .*from 1 to 3600/);
  });

  test('a model prefix comes without a model bucket', () => {
    expect(() => fixture({ modelPrefix: 'models/' }, false)).toThrow(/invalid modelPrefix 'models\/'.*give modelBucket/);
  });

  test('the model prefix is not a plain prefix', () => {
    expect(() => fixture({ modelPrefix: '/runs/' })).toThrow(/invalid prefix/);
  });
});

/**
 * Runs the generated commands in one bash process, as CodeBuild does, on a fake source, with `aws`, `docker` and
 * `curl` replaced by scripts that log their calls. jq, tar and diff are the real ones.
 */
// jq is on every CodeBuild standard image the buildspec runs on, and CI installs it (.ci/run): no skipping.
if (spawnSync('jq', ['--version']).status !== 0) throw new Error('These tests run the buildspec with the real jq: install jq (apt-get install jq).');

const FAKE_AWS = `#!/usr/bin/env bash
echo "aws $*" >> "$FAKE_LOG"
case "$1 $2" in
  "sagemaker describe-model-package") echo '{"ModelPackageVersion": 7, "InferenceSpecification": {"Containers": [{"ModelDataUrl": "s3://models/runs/7/model.tar.gz"}]}, "CustomerMetadataProperties": {"mlops:data-version": "dv-42"}}' ;;
  "stepfunctions describe-execution") echo '{"registration": {"modelPackageArn": "arn:aws:sagemaker:eu-west-1:111122223333:model-package/fraud/7"}}' ;;
  "s3 cp") cp "$FAKE_MODEL_TAR" "\${@: -1}" ;;
  "ecr get-login-password") echo token ;;
  "ecr describe-images")
    if [ -n "\${FAKE_EXISTING_DIGEST:-}" ]; then echo "$FAKE_EXISTING_DIGEST";
    elif [ -f "$FAKE_STATE/pushed" ]; then echo "${DIGEST}";
    else echo "An error occurred (ImageNotFoundException) when calling the DescribeImages operation" >&2; exit 254; fi ;;
  "ecr wait") exit 0 ;;
  "ecr describe-image-scan-findings")
    if [[ "$*" == *imageScanStatus* ]]; then echo COMPLETE; else echo "\${FAKE_SCAN_COUNTS:-null}"; fi ;;
  *) echo "unexpected aws call: $*" >&2; exit 2 ;;
esac
`;

const FAKE_DOCKER = `#!/usr/bin/env bash
echo "docker $*" >> "$FAKE_LOG"
case "$1" in
  login) cat > /dev/null ;;
  build) touch "$FAKE_STATE/built" ;;
  run) echo 0123456789ab ;;
  inspect) echo "\${FAKE_RUNNING:-true}" ;;
  logs) echo "fake server log line" ;;
  push) touch "$FAKE_STATE/pushed" ;;
  rm) ;;
  *) echo "unexpected docker call: $*" >&2; exit 2 ;;
esac
`;

const FAKE_CURL = `#!/usr/bin/env bash
echo "curl $*" >> "$FAKE_LOG"
out=/dev/null
while [ $# -gt 0 ]; do
  case "$1" in
    -o) out="$2"; shift 2 ;;
    http://*) url="$1"; shift ;;
    *) shift ;;
  esac
done
case "$url" in
  */ping) printf '%s' "\${FAKE_PING_STATUS:-200}" ;;
  */invocations)
    default='{"score": 0.9, "label": "fraud"}'
    printf '%s' "\${FAKE_RESPONSE:-$default}" > "$out"
    printf '%s' "\${FAKE_STATUS:-200}" ;;
esac
`;

interface RunOptions {
  readonly env?: Record<string, string>;
  readonly files?: Record<string, string>;
  readonly spec?: BuildSpec;
}

interface RunResult {
  readonly status: number | null;
  readonly output: string;
  readonly calls: string;
  readonly source: string;
}

const runDirectories: string[] = [];
afterAll(() => runDirectories.forEach((dir) => fs.rmSync(dir, { recursive: true, force: true })));

function runBuildSpec(options: RunOptions = {}): RunResult {
  const spec = options.spec ?? (servingBuildSpec({
    baseImage: 'public.ecr.aws/docker/library/python:3.12-slim',
    dockerfile: 'Dockerfile',
    goldenDirectory: 'tests/golden',
    startupTimeoutSeconds: 2,
    blockingSeverities: ['CRITICAL', 'HIGH'],
  }) as unknown as BuildSpec);
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'serving-build-'));
  runDirectories.push(root);
  const bin = path.join(root, 'bin');
  const source = path.join(root, 'src');
  const state = path.join(root, 'state');
  for (const dir of [bin, source, state, path.join(root, 'model')]) fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(bin, 'aws'), FAKE_AWS, { mode: 0o755 });
  fs.writeFileSync(path.join(bin, 'docker'), FAKE_DOCKER, { mode: 0o755 });
  fs.writeFileSync(path.join(bin, 'curl'), FAKE_CURL, { mode: 0o755 });
  fs.writeFileSync(path.join(root, 'model', 'weights.bin'), 'weights');
  spawnSync('tar', ['-czf', path.join(root, 'model.tar.gz'), '-C', path.join(root, 'model'), '.']);
  const files = options.files ?? {
    'Dockerfile': 'ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nCOPY model/ /opt/ml/model/\n',
    'tests/golden/fraud.json': '{"amount": 1200}',
    'tests/golden/fraud.expected.json': '{"label": "fraud", "score": 0.9}',
  };
  for (const [file, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(source, file)), { recursive: true });
    fs.writeFileSync(path.join(source, file), content);
  }
  const { pre_build: pre, build, post_build: post } = spec.phases;
  const exported = spec.env['exported-variables'].map((v) => `echo "EXPORTED ${v}=\${${v}:-}"`);
  const script = [...pre.commands, ...build.commands, ...post.commands, ...exported].join('\n');
  const log = path.join(root, 'calls.log');
  fs.writeFileSync(log, '');
  const result = spawnSync('bash', ['-c', script], {
    cwd: source,
    encoding: 'utf-8',
    timeout: 30_000,
    env: {
      PATH: `${bin}:${process.env.PATH}`,
      HOME: root,
      TMPDIR: root,
      ...spec.env.variables,
      REPOSITORY_URI: '111122223333.dkr.ecr.eu-west-1.amazonaws.com/fraud/serving',
      REPOSITORY_NAME: 'fraud/serving',
      CODEBUILD_RESOLVED_SOURCE_VERSION: 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678',
      FAKE_LOG: log,
      FAKE_STATE: state,
      FAKE_MODEL_TAR: path.join(root, 'model.tar.gz'),
      ...options.env,
    },
  });
  return { status: result.status, output: `${result.stdout}\n${result.stderr}`, calls: fs.readFileSync(log, 'utf-8'), source };
}

describe('the generated buildspec, run with fake aws, docker and curl', () => {
  const URI = '111122223333.dkr.ecr.eu-west-1.amazonaws.com/fraud/serving';
  const PACKAGE = { MODEL_PACKAGE_ARN: 'arn:aws:sagemaker:eu-west-1:111122223333:model-package/fraud/7' };

  test('takes the model package from the training execution the pipeline passes, and exports the lineage', () => {
    const execution = 'arn:aws:states:eu-west-1:111122223333:execution:training:run-1';
    const run = runBuildSpec({ env: { TRAINING_EXECUTION_ARN: execution } });
    expect(run.status).toBe(0);
    expect(run.calls).toContain(`aws stepfunctions describe-execution --execution-arn ${execution} --query output --output text`);
    expect(run.calls).toContain('aws sagemaker describe-model-package --model-package-name arn:aws:sagemaker:eu-west-1:111122223333:model-package/fraud/7');
    expect(run.output).toContain('EXPORTED MODEL_PACKAGE_ARN=arn:aws:sagemaker:eu-west-1:111122223333:model-package/fraud/7');
    expect(run.output).toContain('EXPORTED DATA_VERSION_ID=dv-42');
  });

  test('builds, tests, pushes, gates and exports a model package\'s image', () => {
    const run = runBuildSpec({ env: PACKAGE });
    expect(run.output).toContain('Contract test passed: 1 golden request(s).');
    expect(run.status).toBe(0);
    expect(run.output).toContain('EXPORTED IMAGE_TAG=7-a1b2c3d4e5f6');
    expect(run.output).toContain(`EXPORTED IMAGE_URI=${URI}@${DIGEST}`);
    expect(run.output).toContain(`EXPORTED IMAGE_DIGEST=${DIGEST}`);
    expect(run.output).toContain('EXPORTED MODEL_VERSION=7');
    expectInOrder(run.calls, [
      'aws sagemaker describe-model-package --model-package-name arn:aws:sagemaker:eu-west-1:111122223333:model-package/fraud/7',
      'aws ecr describe-images --registry-id 111122223333 --region eu-west-1 --repository-name fraud/serving --image-ids imageTag=7-a1b2c3d4e5f6',
      'aws ecr get-login-password --region eu-west-1',
      'aws s3 cp --no-progress s3://models/runs/7/model.tar.gz',
      'docker build --file Dockerfile --build-arg BASE_IMAGE=public.ecr.aws/docker/library/python:3.12-slim --build-arg MODEL_VERSION=7',
      `--tag ${URI}:7-a1b2c3d4e5f6 .`,
      `docker run -d --name mlops-contract-test -p 8080:8080 ${URI}:7-a1b2c3d4e5f6 serve`,
      '/ping',
      'Content-Type: application/json --data-binary @tests/golden/fraud.json http://localhost:8080/invocations',
      'docker rm -f mlops-contract-test',
      `docker push ${URI}:7-a1b2c3d4e5f6`,
      `aws ecr wait image-scan-complete --registry-id 111122223333 --region eu-west-1 --repository-name fraud/serving --image-id imageDigest=${DIGEST}`,
      'aws ecr describe-image-scan-findings',
    ]);
    // Both ends of the login pipe run at once: their log order varies.
    expect(run.calls).toContain('docker login --username AWS --password-stdin 111122223333.dkr.ecr.eu-west-1.amazonaws.com');
    expect(fs.readFileSync(path.join(run.source, 'model', 'weights.bin'), 'utf-8')).toBe('weights');
    expect(JSON.parse(fs.readFileSync(path.join(run.source, 'imageDetail.json'), 'utf-8'))).toEqual({
      ImageURI: `${URI}@${DIGEST}`,
      ImageTag: '7-a1b2c3d4e5f6',
      ImageDigest: DIGEST,
      ModelVersion: '7',
      ModelDataUrl: 's3://models/runs/7/model.tar.gz',
      ModelPackageArn: PACKAGE.MODEL_PACKAGE_ARN,
      SourceVersion: 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678',
    });
  });

  test('takes MODEL_DATA_URL and MODEL_VERSION without a model package', () => {
    const run = runBuildSpec({ env: { MODEL_DATA_URL: 's3://models/runs/x/model.tar.gz', MODEL_VERSION: 'v3' } });
    expect(run.status).toBe(0);
    expect(run.calls).not.toContain('sagemaker');
    expect(run.output).toContain('EXPORTED IMAGE_TAG=v3-a1b2c3d4e5f6');
  });

  test('fails with a clear message when no model is given', () => {
    const run = runBuildSpec();
    expect(run.status).toBe(1);
    expect(run.output).toContain('ERROR: no model to package. Set MODEL_PACKAGE_ARN');
    expect(run.calls).not.toContain('docker');
  });

  test('reuses an existing tag: no download, build, test or push, but the scan gate still runs', () => {
    const run = runBuildSpec({ env: { ...PACKAGE, FAKE_EXISTING_DIGEST: DIGEST } });
    expect(run.status).toBe(0);
    expect(run.output).toContain('exists (sha256:');
    expect(run.calls).not.toMatch(/aws s3 cp|docker (build|run|push)/);
    expect(run.calls).toContain('aws ecr wait image-scan-complete');
    expect(run.output).toContain(`EXPORTED IMAGE_URI=${URI}@${DIGEST}`);
  });

  test('fails before the push when the response differs from the expected one, with the container logs', () => {
    const run = runBuildSpec({ env: { ...PACKAGE, FAKE_RESPONSE: '{"label": "legit", "score": 0.1}' } });
    expect(run.status).toBe(1);
    expect(run.output).toContain('CONTRACT TEST FAILED: the response to tests/golden/fraud.json differs from tests/golden/fraud.expected.json');
    expect(run.output).toContain('fake server log line');
    expect(run.calls).toContain('docker rm -f mlops-contract-test');
    expect(run.calls).not.toContain('docker push');
  });

  test('fails when an invocation does not answer 200', () => {
    const run = runBuildSpec({ env: { ...PACKAGE, FAKE_STATUS: '500' } });
    expect(run.status).toBe(1);
    expect(run.output).toContain('POST /invocations with tests/golden/fraud.json answered HTTP 500');
    expect(run.calls).not.toContain('docker push');
  });

  test('fails when /ping never answers 200 within the startup timeout', () => {
    const run = runBuildSpec({ env: { ...PACKAGE, FAKE_PING_STATUS: '503' } });
    expect(run.status).toBe(1);
    expect(run.output).toContain('GET /ping did not answer 200 within 2s');
  });

  test('fails when the container exits', () => {
    const run = runBuildSpec({ env: { ...PACKAGE, FAKE_PING_STATUS: '000', FAKE_RUNNING: 'false' } });
    expect(run.status).toBe(1);
    expect(run.output).toContain('CONTRACT TEST FAILED: the container exited');
  });

  test('takes the commit from COMMIT_ID when CodeBuild leaves CODEBUILD_RESOLVED_SOURCE_VERSION empty', () => {
    const run = runBuildSpec({ env: { ...PACKAGE, COMMIT_ID: 'f00dfeedbeef0123456789abcdef0123456789ab', [RESOLVED_SOURCE_VERSION.value.name]: '' } });
    expect(run.status).toBe(0);
    expect(run.output).toContain('EXPORTED IMAGE_TAG=7-f00dfeedbeef');
    expect(JSON.parse(fs.readFileSync(path.join(run.source, 'imageDetail.json'), 'utf-8')).SourceVersion).toBe('f00dfeedbeef0123456789abcdef0123456789ab');
  });

  test('COMMIT_ID wins over CODEBUILD_RESOLVED_SOURCE_VERSION', () => {
    const run = runBuildSpec({ env: { ...PACKAGE, COMMIT_ID: 'f00dfeedbeef0123456789abcdef0123456789ab' } });
    expect(run.status).toBe(0);
    expect(run.output).toContain('EXPORTED IMAGE_TAG=7-f00dfeedbeef');
  });

  test('fails with a clear message, before any ECR call, when neither COMMIT_ID nor CodeBuild\'s source version is set', () => {
    const run = runBuildSpec({ env: { ...PACKAGE, [RESOLVED_SOURCE_VERSION.value.name]: '' } });
    expect(run.status).toBe(1);
    expect(run.output).toContain('ERROR: no commit to tag the image with: COMMIT_ID is not set');
    expect(run.calls).not.toContain('ecr');
  });

  test('an S3 object version as the source version still makes a valid tag', () => {
    const run = runBuildSpec({ env: { ...PACKAGE, COMMIT_ID: '3/L4kqtJl+cpXroDTDmJ+rmSpXd3dIbrHY', CODEBUILD_RESOLVED_SOURCE_VERSION: '' } });
    expect(run.status).toBe(0);
    expect(run.output).toContain('EXPORTED IMAGE_TAG=7-3_L4kqtJl_cp');
  });

  test('a golden request without <name>.expected.json passes on HTTP 200 with JSON', () => {
    const files = { 'Dockerfile': 'FROM x\n', 'tests/golden/fraud.json': '{"amount": 1200}' };
    const run = runBuildSpec({ env: PACKAGE, files });
    expect(run.output).toContain('POST /invocations with tests/golden/fraud.json: 200, JSON (no fraud.expected.json to compare with)');
    expect(run.output).toContain('Contract test passed: 1 golden request(s).');
    expect(run.status).toBe(0);
    expect(run.calls).toContain('docker push');
  });

  test('a golden request without <name>.expected.json still fails when the response is not JSON', () => {
    const files = { 'Dockerfile': 'FROM x\n', 'tests/golden/fraud.json': '{"amount": 1200}' };
    const run = runBuildSpec({ env: { ...PACKAGE, FAKE_RESPONSE: 'fraud!' }, files });
    expect(run.status).toBe(1);
    expect(run.output).toContain('CONTRACT TEST FAILED: the response to tests/golden/fraud.json is not JSON');
    expect(run.calls).not.toContain('docker push');
  });

  test('fails when there is no golden request', () => {
    const run = runBuildSpec({ env: PACKAGE, files: { Dockerfile: 'FROM x\n' } });
    expect(run.status).toBe(1);
    expect(run.output).toContain('no golden request in tests/golden/');
  });

  test('fails on scan findings at or above the threshold, passes below it', () => {
    const high = runBuildSpec({ env: { ...PACKAGE, FAKE_SCAN_COUNTS: '{"HIGH": 2, "LOW": 5}' } });
    expect(high.status).toBe(1);
    expect(high.output).toContain('the image has 2 scan finding(s) at or above HIGH');
    const low = runBuildSpec({ env: { ...PACKAGE, FAKE_SCAN_COUNTS: '{"MEDIUM": 3, "LOW": 5}' } });
    expect(low.status).toBe(0);
    expect(low.output).toContain('Scan gate passed for the image: no finding at or above HIGH.');
  });
});
