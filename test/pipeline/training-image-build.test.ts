import { spawnSync } from 'child_process';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as codebuild from 'aws-cdk-lib/aws-codebuild';
import * as codepipeline from 'aws-cdk-lib/aws-codepipeline';
import * as actions from 'aws-cdk-lib/aws-codepipeline-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { ModelImageRepository, ScanSeverity, TrainingImageBuild, TrainingImageBuildProps } from '../../lib';
import { CONTENT_HASH_SCHEME, TrainingBuildSpecOptions, trainingBuildSpec } from '../../lib/pipeline/private/training-image-buildspec';
import { stackFindings } from '../support/compliance';

interface BuildSpecPhase {
  'on-failure'?: string;
  'commands': string[];
}

interface BuildSpec {
  version: string;
  env: { 'shell': string; 'variables': Record<string, string>; 'exported-variables': string[] };
  phases: { pre_build: BuildSpecPhase; build: BuildSpecPhase; post_build: BuildSpecPhase };
}

type Options = Omit<TrainingImageBuildProps, 'repository'>;

function fixture(options: Options = {}) {
  const stack = new Stack(new App(), 'Test');
  const images = new ModelImageRepository(stack, 'Images', { repositoryName: 'fraud/training' });
  const build = new TrainingImageBuild(stack, 'Build', { repository: images, ...options });
  return { stack, images, build, template: Template.fromStack(stack) };
}

function projectOf(template: Template): Record<string, any> {
  const projects = Object.values(template.findResources('AWS::CodeBuild::Project'));
  expect(projects).toHaveLength(1);
  return projects[0].Properties;
}

function buildSpecOf(template: Template): BuildSpec {
  return JSON.parse(projectOf(template).Source.BuildSpec);
}

function statementsOf(stack: Stack): any[] {
  const policies = Template.fromStack(stack).findResources('AWS::IAM::Policy');
  return stack.resolve(Object.values(policies).flatMap((p: any) => p.Properties.PolicyDocument.Statement));
}

const actionsOf = (statement: any): string[] => ([] as string[]).concat(statement.Action);

describe('TrainingImageBuild defaults', () => {
  const { build, template } = fixture();
  const project = projectOf(template);
  const spec = buildSpecOf(template);

  test('a privileged PipelineProject on the source artifact: newest standard image, MEDIUM, 60 minutes, Docker layer cache', () => {
    expect(project.Source.Type).toBe('CODEPIPELINE');
    expect(project.Environment).toEqual(expect.objectContaining({
      Type: 'LINUX_CONTAINER', Image: 'aws/codebuild/standard:8.0', ComputeType: 'BUILD_GENERAL1_MEDIUM', PrivilegedMode: true,
    }));
    expect(project.TimeoutInMinutes).toBe(60);
    expect(project.Cache).toEqual({ Type: 'LOCAL', Modes: ['LOCAL_DOCKER_LAYER_CACHE'] });
    expect(build.project.node.id).toBe('Resource');
  });

  test('artifacts encrypted with the stack key, rotated, retained key (MlOpsKeys); logs in its own KMS-encrypted group', () => {
    const keyId = project.EncryptionKey['Fn::GetAtt'][0];
    const key = template.toJSON().Resources[keyId];
    expect(keyId).toMatch(/^MlOpsKeysKey/);
    expect(key.DeletionPolicy).toBe('Retain');
    expect(key.Properties.EnableKeyRotation).toBe(true);
    expect(project.LogsConfig).toEqual({ CloudWatchLogs: { Status: 'ENABLED', GroupName: { Ref: expect.stringMatching(/^BuildLogs/) } } });
    template.hasResource('AWS::Logs::LogGroup', {
      Properties: { RetentionInDays: 365, KmsKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^MlOpsKeysKey'), 'Arn'] } },
    });
  });

  test('the training directory is the context; the Dockerfile is in it; the base image is from ECR Public', () => {
    expect(spec.env.variables).toEqual({
      BASE_IMAGE: 'public.ecr.aws/docker/library/python:3.12-slim',
      TRAINING_CONTEXT: 'training',
      TRAINING_DOCKERFILE: 'training/Dockerfile',
    });
    expect(build.trainingDirectory).toBe('training');
    expect(build.trainingDockerfile).toBe('training/Dockerfile');
    expect(build.evaluationDirectory).toBeUndefined();
  });

  test('exports the images by digest, their tags and whether the training image was reused', () => {
    expect(spec.env['exported-variables']).toEqual([
      'TRAINING_IMAGE_URI', 'TRAINING_IMAGE_TAG', 'TRAINING_IMAGE_REUSED', 'EVALUATION_IMAGE_URI', 'EVALUATION_IMAGE_TAG',
    ]);
    expect([TrainingImageBuild.TRAINING_IMAGE_URI_VARIABLE, TrainingImageBuild.TRAINING_IMAGE_TAG_VARIABLE,
      TrainingImageBuild.TRAINING_IMAGE_REUSED_VARIABLE, TrainingImageBuild.EVALUATION_IMAGE_URI_VARIABLE,
      TrainingImageBuild.EVALUATION_IMAGE_TAG_VARIABLE]).toEqual(spec.env['exported-variables']);
  });

  test('buildspec 0.2 in bash, every phase aborts on failure, every command strict and valid bash', () => {
    expect(spec.version).toBe('0.2');
    expect(spec.env.shell).toBe('bash');
    for (const phase of Object.values(spec.phases)) {
      expect(phase['on-failure']).toBe('ABORT');
      for (const command of phase.commands) {
        expect(command.startsWith('set -euo pipefail\n')).toBe(true);
        const check = spawnSync('bash', ['-n'], { input: command, encoding: 'utf-8' });
        expect({ command, stderr: check.stderr }).toEqual({ command, stderr: '' });
      }
    }
  });

  test('never the latest tag', () => {
    expect(project.Source.BuildSpec).not.toMatch(/latest/i);
  });

  test('only plaintext, non-secret environment variables: the repository\'s URI and name', () => {
    expect(project.Environment.EnvironmentVariables.map((v: any) => [v.Name, v.Type]))
      .toEqual([['REPOSITORY_URI', 'PLAINTEXT'], ['REPOSITORY_NAME', 'PLAINTEXT']]);
  });
});

describe('TrainingImageBuild IAM', () => {
  const { stack, images } = fixture();
  const statements = statementsOf(stack);
  const repositoryArn = stack.resolve(images.repositoryArn);

  test('pushes to and describes the repository only; the ECR login token on "*"', () => {
    const ecrStatements = statements.filter((s) => actionsOf(s).some((a) => a.startsWith('ecr:')));
    for (const statement of ecrStatements) {
      if (actionsOf(statement).includes('ecr:GetAuthorizationToken')) {
        expect(statement).toEqual({ Effect: 'Allow', Action: 'ecr:GetAuthorizationToken', Resource: '*' });
      } else {
        expect(statement.Resource).toEqual(repositoryArn);
      }
    }
    expect(ecrStatements.flatMap(actionsOf)).toEqual(expect.arrayContaining(['ecr:PutImage', 'ecr:InitiateLayerUpload',
      'ecr:UploadLayerPart', 'ecr:CompleteLayerUpload', 'ecr:BatchCheckLayerAvailability', 'ecr:DescribeImages',
      'ecr:DescribeImageScanFindings']));
  });

  test('uses the repository key only through ECR', () => {
    expect(statements).toContainEqual(expect.objectContaining({
      Action: ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey'],
      Resource: { 'Fn::GetAtt': [expect.stringMatching(/^MlOpsKeysKey/), 'Arn'] },
      Condition: { StringEquals: { 'kms:ViaService': expect.anything() } },
    }));
  });

  test('grantRepository gives another principal the same repository permissions, nothing on other resources', () => {
    const s = new Stack(new App(), 'Other');
    const repo = new ModelImageRepository(s, 'Images');
    const b = new TrainingImageBuild(s, 'Build', { repository: repo });
    const role = new iam.Role(s, 'Other', { assumedBy: new iam.AccountRootPrincipal() });
    b.grantRepository(role);
    const granted = statementsOf(s).filter((st) => JSON.stringify(st).includes('ecr:DescribeImageScanFindings'));
    expect(granted).toHaveLength(2);
  });
});

describe('TrainingImageBuild compliance', () => {
  test('has no unacknowledged finding in the five cdk-nag packs and the Control Tower rules', () => {
    expect(stackFindings((s) => {
      new TrainingImageBuild(s, 'Build', { repository: new ModelImageRepository(s, 'Images'), evaluationDirectory: 'evaluation' });
    }, { controlTower: true })).toEqual([]);
  });

  test('privileged mode is exempted from Control Tower CT.CODEBUILD.PR.4 on this project, with the reason', () => {
    const [project] = Object.values(fixture().template.findResources('AWS::CodeBuild::Project'));
    expect(project.Metadata['cdk-mlops:control-tower-exemptions']).toEqual({
      codebuild_project_environment_privileged_check: expect.stringContaining('Docker daemon'),
    });
  });
});

describe('TrainingImageBuild options', () => {
  test('directory, Dockerfile, base image, scan threshold, timeout and compute type', () => {
    const { template } = fixture({
      trainingDirectory: './ml/train/',
      dockerfile: 'docker/train.Dockerfile',
      baseImage: 'public.ecr.aws/docker/library/python:3.11',
      failOnSeverity: ScanSeverity.CRITICAL,
      timeout: Duration.hours(2),
      computeType: codebuild.ComputeType.LARGE,
    });
    const spec = buildSpecOf(template);
    expect(spec.env.variables).toEqual({
      BASE_IMAGE: 'public.ecr.aws/docker/library/python:3.11', TRAINING_CONTEXT: 'ml/train', TRAINING_DOCKERFILE: 'docker/train.Dockerfile',
    });
    expect(spec.phases.post_build.commands[0]).toContain('for level in CRITICAL; do');
    expect(projectOf(template).TimeoutInMinutes).toBe(120);
    expect(projectOf(template).Environment.ComputeType).toBe('BUILD_GENERAL1_LARGE');
  });

  test('a separate evaluation image: its own context and Dockerfile, scanned too', () => {
    const { build, template } = fixture({ evaluationDirectory: 'evaluation' });
    const spec = buildSpecOf(template);
    expect(spec.env.variables).toEqual(expect.objectContaining({ EVALUATION_CONTEXT: 'evaluation', EVALUATION_DOCKERFILE: 'evaluation/Dockerfile' }));
    expect(build.evaluationDockerfile).toBe('evaluation/Dockerfile');
    expect(spec.phases.build.commands).toHaveLength(2);
    expect(spec.phases.post_build.commands).toHaveLength(3);
  });

  test('an evaluation Dockerfile alone builds from the training directory', () => {
    const spec = buildSpecOf(fixture({ evaluationDockerfile: 'training/Dockerfile.eval' }).template);
    expect(spec.env.variables).toEqual(expect.objectContaining({ EVALUATION_CONTEXT: 'training', EVALUATION_DOCKERFILE: 'training/Dockerfile.eval' }));
  });

  test('an evaluation image identical to the training one is not built twice', () => {
    const { build, template } = fixture({ evaluationDirectory: 'training', evaluationDockerfile: 'training/Dockerfile' });
    expect(build.evaluationDirectory).toBeUndefined();
    expect(buildSpecOf(template).env.variables).not.toHaveProperty('EVALUATION_CONTEXT');
  });

  test('ScanSeverity.NONE neither waits for the scan nor reads its findings', () => {
    const spec = buildSpecOf(fixture({ failOnSeverity: ScanSeverity.NONE }).template);
    expect(JSON.stringify(spec)).not.toContain('image-scan');
    expect(spec.phases.post_build.commands).toHaveLength(1);
  });

  test('buildAction: a CodeBuild action on the source, variables in the Build namespace, the commit as SOURCE_VERSION', () => {
    const stack = new Stack(new App(), 'Test');
    const build = new TrainingImageBuild(stack, 'Build', { repository: new ModelImageRepository(stack, 'Images') });
    const source = new codepipeline.Artifact('Source');
    const bucket = new s3.Bucket(stack, 'SourceBucket', { versioned: true });
    new codepipeline.Pipeline(stack, 'Pipeline', {
      pipelineType: codepipeline.PipelineType.V2,
      stages: [
        { stageName: 'Source', actions: [new actions.S3SourceAction({ actionName: 'Source', bucket, bucketKey: 'src.zip', output: source, variablesNamespace: 'Source' })] },
        { stageName: 'Build', actions: [build.buildAction({ input: source, sourceVersion: '#{Source.VersionId}' })] },
      ],
    });
    const pipeline = Object.values(Template.fromStack(stack).findResources('AWS::CodePipeline::Pipeline'))[0] as any;
    const action = pipeline.Properties.Stages[1].Actions[0];
    expect(action.Name).toBe('BuildTrainingImage');
    expect(action.Namespace).toBe('Build');
    expect(action.InputArtifacts).toEqual([{ Name: 'Source' }]);
    expect(JSON.parse(action.Configuration.EnvironmentVariables)).toEqual([{ name: 'SOURCE_VERSION', type: 'PLAINTEXT', value: '#{Source.VersionId}' }]);
  });
});

describe('TrainingImageBuild fails when', () => {
  test.each(['/training', '..', 'training/../../etc', '', 'C:\\training', '~/training', 'training$(id)', 'a"b'])(
    'the training directory is %p', (trainingDirectory) => {
      expect(() => fixture({ trainingDirectory })).toThrow(
        /TrainingImageBuild 'Test\/Build': invalid trainingDirectory .*relative to the root of the source artifact, without "\.\."/);
    });

  test.each(['/Dockerfile', '../Dockerfile', 'training/../../Dockerfile'])('the Dockerfile is %p', (dockerfile) => {
    expect(() => fixture({ dockerfile })).toThrow(/invalid dockerfile/);
  });

  test.each([['evaluationDirectory', '../evaluation'], ['evaluationDockerfile', '/evaluation/Dockerfile']])('%s is %p', (prop, value) => {
    expect(() => fixture({ [prop]: value })).toThrow(new RegExp(`invalid ${prop}`));
  });

  test.each(['python:3.12-slim', 'docker.io/library/python:3.12', 'pytorch/pytorch:2.4.0-cuda12.1-cudnn9-runtime'])(
    'the base image %s is on Docker Hub', (baseImage) => {
      expect(() => fixture({ baseImage })).toThrow(/invalid baseImage .*use ECR Public/);
    });

  test.each([Duration.minutes(4), Duration.hours(37), Duration.seconds(90)])('the timeout is %s', (timeout) => {
    expect(() => fixture({ timeout })).toThrow(/invalid timeout .*whole minutes from 5 to 2160/);
  });
});

/**
 * Runs the generated commands in one bash process, as CodeBuild does, on a fake source, with `aws` and `docker`
 * replaced by scripts that log their calls. jq, find, sort, sed, xargs and sha256sum are the real ones.
 */
if (spawnSync('jq', ['--version']).status !== 0) throw new Error('These tests run the buildspec with the real jq: install jq (apt-get install jq).');

const FAKE_AWS = `#!/usr/bin/env bash
echo "aws $*" >> "$FAKE_LOG"
case "$1 $2" in
  "ecr get-login-password") echo token ;;
  "ecr describe-images")
    tag=""; for a in "$@"; do case "$a" in imageTag=*) tag="\${a#imageTag=}" ;; esac; done
    if [ -f "$FAKE_STATE/existing-$tag" ]; then cat "$FAKE_STATE/existing-$tag";
    elif [ -f "$FAKE_STATE/pushed-$tag" ]; then cat "$FAKE_STATE/pushed-$tag";
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
  build) ;;
  push) tag="\${2##*:}"; printf 'sha256:%s' "$(printf '%s' "$tag" | sha256sum | cut -c1-64)" > "$FAKE_STATE/pushed-$tag"
    # Another build of the same content pushed first: ECR refuses the immutable tag, and has the image.
    if [ -n "\${FAKE_PUSH_REFUSED:-}" ]; then echo "tag invalid: the image tag already exists" >&2; exit 1; fi ;;
  *) echo "unexpected docker call: $*" >&2; exit 2 ;;
esac
`;

const URI = '111122223333.dkr.ecr.eu-west-1.amazonaws.com/fraud/training';
const BASE = 'public.ecr.aws/docker/library/python:3.12-slim';
const SOURCE = {
  'training/Dockerfile': 'ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nCOPY . /opt/train\n',
  'training/train.py': 'print("train")\n',
  'training/lib/model.py': 'MODEL = 1\n',
  'training/.git/HEAD': 'ref: refs/heads/main\n',
  'serving/app.py': 'print("serve")\n',
  'tests/test_train.py': 'def test(): pass\n',
};

/** The tag as the buildspec's documentation defines it, computed here independently of the bash. */
function expectedTag(prefix: string, root: string, context: string, dockerfile: string, baseImage = BASE): string {
  const files = new Set<string>([dockerfile]);
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(path.join(root, dir), { withFileTypes: true })) {
      const relative = dir === '.' ? entry.name : `${dir}/${entry.name}`;
      if (entry.isDirectory() && entry.name !== '.git') walk(relative);
      else if (entry.isFile()) files.add(relative);
    }
  };
  walk(context);
  const sorted = [...files].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  const lines = [CONTENT_HASH_SCHEME, `base-image ${baseImage}`, `context ${context}`, `dockerfile ${dockerfile}`,
    ...sorted.map((f) => `${createHash('sha256').update(fs.readFileSync(path.join(root, f))).digest('hex')}  ${f}`)];
  return `${prefix}-${createHash('sha256').update(`${lines.join('\n')}\n`).digest('hex')}`;
}

const pushedDigest = (tag: string) => `sha256:${createHash('sha256').update(tag).digest('hex')}`;

interface RunOptions {
  readonly options?: Partial<TrainingBuildSpecOptions>;
  readonly files?: Record<string, string>;
  readonly env?: Record<string, string>;
  /** Tags that exist in ECR before the run, with their digests. */
  readonly existing?: Record<string, string>;
}

const runDirectories: string[] = [];
afterAll(() => runDirectories.forEach((dir) => fs.rmSync(dir, { recursive: true, force: true })));

function runBuildSpec(run: RunOptions = {}) {
  const spec = trainingBuildSpec({
    baseImage: BASE,
    training: { context: 'training', dockerfile: 'training/Dockerfile' },
    blockingSeverities: ['CRITICAL', 'HIGH'],
    ...run.options,
  }) as unknown as BuildSpec;
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'training-build-'));
  runDirectories.push(root);
  const [bin, source, state] = ['bin', 'src', 'state'].map((d) => path.join(root, d));
  for (const dir of [bin, source, state]) fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(bin, 'aws'), FAKE_AWS, { mode: 0o755 });
  fs.writeFileSync(path.join(bin, 'docker'), FAKE_DOCKER, { mode: 0o755 });
  for (const [file, content] of Object.entries(run.files ?? SOURCE)) {
    fs.mkdirSync(path.dirname(path.join(source, file)), { recursive: true });
    fs.writeFileSync(path.join(source, file), content);
  }
  for (const [tag, digest] of Object.entries(run.existing ?? {})) fs.writeFileSync(path.join(state, `existing-${tag}`), digest);
  const { pre_build: pre, build, post_build: post } = spec.phases;
  const exported = spec.env['exported-variables'].map((v) => `echo "EXPORTED ${v}=\${${v}:-}"`);
  const log = path.join(root, 'calls.log');
  fs.writeFileSync(log, '');
  const result = spawnSync('bash', ['-c', [...pre.commands, ...build.commands, ...post.commands, ...exported].join('\n')], {
    cwd: source,
    encoding: 'utf-8',
    timeout: 30_000,
    env: {
      PATH: `${bin}:${process.env.PATH}`,
      HOME: root,
      TMPDIR: root,
      ...spec.env.variables,
      REPOSITORY_URI: URI,
      REPOSITORY_NAME: 'fraud/training',
      FAKE_LOG: log,
      FAKE_STATE: state,
      ...run.env,
    },
  });
  const output = `${result.stdout}\n${result.stderr}`;
  const exports = Object.fromEntries([...output.matchAll(/^EXPORTED (\w+)=(.*)$/gm)].map((m) => [m[1], m[2]]));
  return { status: result.status, output, calls: fs.readFileSync(log, 'utf-8'), source, exports };
}

describe('the generated buildspec, run with fake aws and docker', () => {
  test('builds the training directory, pushes the content tag, gates the scan and exports the image by digest', () => {
    const run = runBuildSpec();
    expect(run.output).toContain('Scan gate passed for the training image');
    expect(run.status).toBe(0);
    const tag = expectedTag('train', run.source, 'training', 'training/Dockerfile');
    expect(run.exports).toEqual({
      TRAINING_IMAGE_URI: `${URI}@${pushedDigest(tag)}`,
      TRAINING_IMAGE_TAG: tag,
      TRAINING_IMAGE_REUSED: 'false',
      EVALUATION_IMAGE_URI: `${URI}@${pushedDigest(tag)}`,
      EVALUATION_IMAGE_TAG: tag,
    });
    const order = [
      `aws ecr describe-images --registry-id 111122223333 --region eu-west-1 --repository-name fraud/training --image-ids imageTag=${tag}`,
      'aws ecr get-login-password --region eu-west-1',
      `docker build --file training/Dockerfile --build-arg BASE_IMAGE=${BASE} --label org.opencontainers.image.revision=unknown ` +
        `--label cdk-mlops.content-tag=${tag} --tag ${URI}:${tag} training`,
      `docker push ${URI}:${tag}`,
      `aws ecr wait image-scan-complete --registry-id 111122223333 --region eu-west-1 --repository-name fraud/training --image-id imageDigest=${pushedDigest(tag)}`,
    ];
    let from = 0;
    for (const call of order) {
      const at = run.calls.indexOf(call, from);
      expect({ call, found: at >= 0 }).toEqual({ call, found: true });
      from = at;
    }
    // The manifest is printed: a reviewer sees what the tag is the hash of (and that .git is left out).
    expect(run.output).toContain('  training/train.py');
    expect(run.output).not.toContain('training/.git/HEAD');
  });

  test('the commit given by the pipeline becomes the revision label', () => {
    const run = runBuildSpec({ env: { SOURCE_VERSION: 'a1b2c3d' } });
    expect(run.calls).toContain('--label org.opencontainers.image.revision=a1b2c3d');
  });

  test('an unchanged training tree reuses the image: no Docker at all, the scan gate still runs', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tag-'));
    runDirectories.push(root);
    for (const [file, content] of Object.entries(SOURCE)) {
      fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
      fs.writeFileSync(path.join(root, file), content);
    }
    const tag = expectedTag('train', root, 'training', 'training/Dockerfile');
    const existing = `sha256:${'e'.repeat(64)}`;
    const run = runBuildSpec({ existing: { [tag]: existing } });
    expect(run.status).toBe(0);
    expect(run.output).toContain('is reused, not built');
    expect(run.calls).not.toContain('docker');
    expect(run.calls).toContain(`aws ecr wait image-scan-complete --registry-id 111122223333 --region eu-west-1 --repository-name fraud/training --image-id imageDigest=${existing}`);
    expect(run.exports.TRAINING_IMAGE_URI).toBe(`${URI}@${existing}`);
    expect(run.exports.TRAINING_IMAGE_REUSED).toBe('true');
  });

  test('a change outside the training directory keeps the tag; a change inside it, or another base image, changes it', () => {
    const tagOf = (files: Record<string, string>, baseImage = BASE) =>
      runBuildSpec({ files, options: { baseImage } }).exports.TRAINING_IMAGE_TAG;
    const original = tagOf(SOURCE);
    expect(original).toMatch(/^train-[a-f0-9]{64}$/);
    expect(tagOf({ ...SOURCE, 'serving/app.py': 'print("new serving")\n', 'README.md': 'docs' })).toBe(original);
    expect(tagOf({ ...SOURCE, 'training/.git/HEAD': 'ref: refs/heads/other\n' })).toBe(original);
    expect(tagOf({ ...SOURCE, 'training/train.py': 'print("train v2")\n' })).not.toBe(original);
    expect(tagOf({ ...SOURCE, 'training/data/config.yaml': 'lr: 0.1\n' })).not.toBe(original);
    expect(tagOf(SOURCE, 'public.ecr.aws/docker/library/python:3.13-slim')).not.toBe(original);
  });

  test('a Dockerfile outside the training directory is part of the hash', () => {
    const files = { ...SOURCE, 'docker/train.Dockerfile': 'FROM x\n' };
    const options = { training: { context: 'training', dockerfile: 'docker/train.Dockerfile' } };
    const first = runBuildSpec({ files, options });
    expect(first.status).toBe(0);
    expect(first.exports.TRAINING_IMAGE_TAG).toBe(expectedTag('train', first.source, 'training', 'docker/train.Dockerfile'));
    const changed = runBuildSpec({ files: { ...files, 'docker/train.Dockerfile': 'FROM y\n' }, options });
    expect(changed.exports.TRAINING_IMAGE_TAG).not.toBe(first.exports.TRAINING_IMAGE_TAG);
  });

  test('the whole source as context: paths without "./", the same tag as computed independently', () => {
    const run = runBuildSpec({ options: { training: { context: '.', dockerfile: 'training/Dockerfile' } } });
    expect(run.status).toBe(0);
    expect(run.exports.TRAINING_IMAGE_TAG).toBe(expectedTag('train', run.source, '.', 'training/Dockerfile'));
    expect(run.output).not.toContain('  ./');
  });

  test('a separate evaluation image: built from its own directory; a change to it alone reuses the training image', () => {
    const files = { ...SOURCE, 'evaluation/Dockerfile': 'FROM x\n', 'evaluation/evaluate.py': 'print("eval")\n' };
    const options = { evaluation: { context: 'evaluation', dockerfile: 'evaluation/Dockerfile' } };
    const first = runBuildSpec({ files, options });
    expect(first.status).toBe(0);
    const trainTag = expectedTag('train', first.source, 'training', 'training/Dockerfile');
    const evalTag = expectedTag('eval', first.source, 'evaluation', 'evaluation/Dockerfile');
    expect(first.exports).toEqual(expect.objectContaining({
      TRAINING_IMAGE_URI: `${URI}@${pushedDigest(trainTag)}`,
      EVALUATION_IMAGE_URI: `${URI}@${pushedDigest(evalTag)}`,
      EVALUATION_IMAGE_TAG: evalTag,
    }));
    expect(first.calls).toContain(`--tag ${URI}:${evalTag} evaluation`);
    expect(first.output).toContain('Scan gate passed for the evaluation image');

    const second = runBuildSpec({
      files: { ...files, 'evaluation/evaluate.py': 'print("eval v2")\n' },
      options,
      existing: { [trainTag]: pushedDigest(trainTag), [evalTag]: pushedDigest(evalTag) },
    });
    expect(second.status).toBe(0);
    expect(second.exports.TRAINING_IMAGE_REUSED).toBe('true');
    expect(second.calls).not.toContain(`--tag ${URI}:${trainTag}`);
    expect(second.calls).toMatch(/docker build --file evaluation\/Dockerfile .* --tag \S+:eval-[a-f0-9]{64} evaluation/);
    expect(second.exports.EVALUATION_IMAGE_TAG).not.toBe(evalTag);
  });

  test('fails on scan findings at or above the threshold, and exports nothing then; passes below it', () => {
    const high = runBuildSpec({ env: { FAKE_SCAN_COUNTS: '{"HIGH": 2, "LOW": 5}' } });
    expect(high.status).toBe(1);
    expect(high.output).toContain('the training image has 2 scan finding(s) at or above HIGH');
    expect(high.exports).toEqual({});
    const low = runBuildSpec({ env: { FAKE_SCAN_COUNTS: '{"MEDIUM": 3}' } });
    expect(low.status).toBe(0);
  });

  test('a push that another build of the same content won is fine: the digest comes from ECR', () => {
    const run = runBuildSpec({ env: { FAKE_PUSH_REFUSED: '1' } });
    expect(run.output).toContain('docker push failed: checking whether another build pushed');
    expect(run.status).toBe(0);
    expect(run.exports.TRAINING_IMAGE_URI).toMatch(/@sha256:[a-f0-9]{64}$/);
  });

  test.each([
    [{ ...SOURCE, 'training/Dockerfile': undefined }, "no Dockerfile at 'training/Dockerfile'"],
    [{ 'serving/app.py': 'x' }, "no directory 'training'"],
  ])('fails clearly when the source lacks what it builds (%#)', (files, message) => {
    const run = runBuildSpec({ files: Object.fromEntries(Object.entries(files).filter(([, v]) => v !== undefined)) as Record<string, string> });
    expect(run.status).toBe(1);
    expect(run.output).toContain(`ERROR: ${message}`);
    expect(run.calls).not.toContain('docker');
  });
});
