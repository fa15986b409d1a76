import { Duration } from 'aws-cdk-lib';
import * as codebuild from 'aws-cdk-lib/aws-codebuild';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { BUILD_VARIABLES, IMAGE_DETAIL_FILE, SEVERITY_ORDER, servingBuildSpec } from './buildspec';
import { acknowledge, exemptFromControlTower } from '../private/acknowledge';
import { BUILD_IMAGE } from '../private/build-image';
import { INLINE_ROLE_POLICY } from '../private/common-findings';
import { createKey, keyViaService } from '../private/kms-key';
import { encryptedLogGroup } from '../private/log-group';
import { codeBuildDefaultGrantIds, nagResourceId } from '../private/nag-resource';
import { isConcrete, MlOpsValidationError } from '../private/validation';
import { IModelImageRepository } from '../registry/model-image-repository';
import { IModelPackageGroup } from '../registry/model-package-group';
import { IVersionedBucket } from '../storage/versioned-bucket';

/** The ECR scan severity at and above which a serving image fails the build. */
export enum ScanSeverity {
  /** Fail on CRITICAL findings. */
  CRITICAL = 'CRITICAL',
  /** Fail on HIGH or CRITICAL findings. */
  HIGH = 'HIGH',
  /** Fail on MEDIUM findings or worse. */
  MEDIUM = 'MEDIUM',
  /** Fail on LOW findings or worse. */
  LOW = 'LOW',
  /** Fail on any finding, informational ones included. */
  INFORMATIONAL = 'INFORMATIONAL',
  /** No scan gate: the build neither waits for the scan nor reads its findings. */
  NONE = 'NONE',
}

/** Props for {@link ServingImageBuild}. */
export interface ServingImageBuildProps {
  /** Receives the serving images (tags are immutable: one tag per model version and commit). */
  readonly repository: IModelImageRepository;
  /**
   * The model registry group whose packages the build may read (`MODEL_PACKAGE_ARN`).
   * @default - no model package is readable: give MODEL_DATA_URL and MODEL_VERSION, or grant it through `grantPrincipal`
   */
  readonly modelPackageGroup?: IModelPackageGroup;
  /**
   * The bucket that holds the models (`model.tar.gz`) the build downloads.
   * @default - no bucket is readable: grant one through `grantPrincipal`
   */
  readonly modelBucket?: IVersionedBucket;
  /**
   * The key prefix of the models in `modelBucket` (the TrainingWorkflow writes them under `runs/`).
   * @default 'runs/'
   */
  readonly modelPrefix?: string;
  /**
   * The image the Dockerfile builds from, passed as the build argument `BASE_IMAGE` (`ARG BASE_IMAGE` /
   * `FROM ${BASE_IMAGE}`). Not a Docker Hub image: anonymous Docker Hub pulls are rate limited and break builds.
   * @default 'public.ecr.aws/docker/library/python:3.12-slim'
   */
  readonly baseImage?: string;
  /**
   * The Dockerfile, relative to the root of the source artifact (the build context).
   * @default 'Dockerfile'
   */
  readonly dockerfile?: string;
  /**
   * The directory of golden requests, relative to the root of the source artifact: each `<name>.json` is a request
   * body for `POST /invocations`, with an optional `<name>.expected.json` response. At least one is required.
   * @default 'tests/golden'
   */
  readonly goldenDirectory?: string;
  /**
   * Fail the build when the ECR scan on push reports a finding at or above this severity; `ScanSeverity.NONE` for no
   * scan gate.
   * @default ScanSeverity.HIGH
   */
  readonly failOnSeverity?: ScanSeverity;
  /**
   * How long the container may take, from `docker run`, to answer `GET /ping` with 200 in the contract test.
   * @default Duration.seconds(60)
   */
  readonly startupTimeout?: Duration;
  /**
   * The CodeBuild compute type.
   * @default codebuild.ComputeType.MEDIUM
   */
  readonly computeType?: codebuild.ComputeType;
  /**
   * The longest a build may run: 5 minutes to 36 hours, in whole minutes.
   * @default Duration.minutes(60)
   */
  readonly timeout?: Duration;
}

const DEFAULT_BASE_IMAGE = 'public.ecr.aws/docker/library/python:3.12-slim';
const DOCKER_HUB_HOSTS = ['docker.io', 'index.docker.io', 'registry-1.docker.io', 'registry.hub.docker.com'];
/** CodeBuild's build timeout (timeoutInMinutes): 5 to 2160 minutes. */
const MIN_TIMEOUT_MINUTES = 5;
const MAX_TIMEOUT_MINUTES = 2160;
const MAX_STARTUP_SECONDS = 3600;

/**
 * A CodeBuild project that bakes one model and its serving code into ONE image, tests it against the SageMaker
 * serving contract, pushes it to a {@link ModelImageRepository} by an immutable tag and gates it on the ECR scan.
 * A `PipelineProject`: run it from a CodePipeline CodeBuild action with the serving-code source artifact as input.
 *
 * Inputs, as environment variables of each run (the action's `environmentVariables`):
 * - `MODEL_PACKAGE_ARN`: a registered model package; its `ModelDataUrl` and `ModelPackageVersion` are read with
 *   `sagemaker:DescribeModelPackage` (give `modelPackageGroup`). It wins over the next two.
 * - or `MODEL_DATA_URL` (`s3://.../model.tar.gz`, readable through `modelBucket`) and `MODEL_VERSION`.
 * - `COMMIT_ID`: the commit (MlPipeline passes `#{Source.CommitId}`). Without it, `CODEBUILD_RESOLVED_SOURCE_VERSION`,
 *   which CodeBuild documents as not always available under CodePipeline; the build fails when both are empty.
 *
 * The source artifact holds the serving code: a `Dockerfile` (`dockerfile`) that declares `ARG BASE_IMAGE`,
 * `FROM ${BASE_IMAGE}` and copies the model from the build context's `model/` directory (model.tar.gz unpacked,
 * as SageMaker unpacks it: `COPY model/ /opt/ml/model/`); the image answers `GET /ping` and `POST /invocations` on
 * port 8080 when run with the argument `serve`. Golden requests (`goldenDirectory`) are sent before the push.
 *
 * The build:
 * 1. resolves the model; the tag is `<model version>-<first 12 characters of the commit>`, never `latest`;
 * 2. when the tag already exists (a retried action), reuses that image: no build, no push;
 * 3. otherwise downloads and unpacks the model, runs `docker build --build-arg BASE_IMAGE --build-arg MODEL_VERSION`,
 *    runs the container contract test (ping, then every golden request, compared as JSON with its expected
 *    response when there is one) and only then pushes;
 * 4. waits for the ECR scan and fails on findings at or above `failOnSeverity`;
 * 5. exports `IMAGE_URI` (by digest), `IMAGE_TAG`, `IMAGE_DIGEST` and `MODEL_VERSION` as action variables, and
 *    writes `imageDetail.json` as its output artifact.
 *
 * The build runs in privileged mode (Docker needs it): only this project, only this generated buildspec. Images are
 * built for x86-64 (linux/amd64).
 *
 * @example
 * const build = new ServingImageBuild(this, 'ServingImage', {
 *   repository: images,
 *   modelPackageGroup: models,
 *   modelBucket: artifacts,
 *   failOnSeverity: ScanSeverity.CRITICAL,
 * });
 * const imageBuilt = new codepipeline_actions.CodeBuildAction({
 *   actionName: 'BuildServingImage',
 *   project: build.project,
 *   input: servingSource,
 *   outputs: [new codepipeline.Artifact('ServingImage')],
 *   variablesNamespace: 'Image',
 *   environmentVariables: { MODEL_PACKAGE_ARN: { value: modelPackageArn } },
 * });
 * // later actions read imageBuilt.variable(ServingImageBuild.IMAGE_URI_VARIABLE)
 */
export class ServingImageBuild extends Construct implements iam.IGrantable {
  /** Input variable: the ARN of the model package to bake in. */
  public static readonly MODEL_PACKAGE_ARN_VARIABLE: string = BUILD_VARIABLES.MODEL_PACKAGE_ARN;
  /** Input variable (without a model package): the `s3://` URL of `model.tar.gz`. */
  public static readonly MODEL_DATA_URL_VARIABLE: string = BUILD_VARIABLES.MODEL_DATA_URL;
  /** Input variable (without a model package) and exported variable: the model version. */
  public static readonly MODEL_VERSION_VARIABLE: string = BUILD_VARIABLES.MODEL_VERSION;
  /** Exported variable: the image by digest, `repositoryUri@sha256:...`. */
  public static readonly IMAGE_URI_VARIABLE: string = BUILD_VARIABLES.IMAGE_URI;
  /** Exported variable: the image tag, `<model version>-<commit prefix>`. */
  public static readonly IMAGE_TAG_VARIABLE: string = BUILD_VARIABLES.IMAGE_TAG;
  /** Exported variable: the image digest, `sha256:...`. */
  public static readonly IMAGE_DIGEST_VARIABLE: string = BUILD_VARIABLES.IMAGE_DIGEST;
  /** The output artifact's file: `{ ImageURI, ImageTag, ImageDigest, ModelVersion, ModelDataUrl, ModelPackageArn, SourceVersion }`. */
  public static readonly IMAGE_DETAIL_FILE: string = IMAGE_DETAIL_FILE;

  /** The CodeBuild project. */
  public readonly project: codebuild.IProject;
  /** The repository the images are pushed to. */
  public readonly repository: IModelImageRepository;
  /** The project's role. */
  public readonly role: iam.IRole;
  /** The project's role, to grant it more (a base image in an ECR pull-through cache, another bucket). */
  public readonly grantPrincipal: iam.IPrincipal;
  /** The key that encrypts the build artifacts. */
  public readonly encryptionKey: kms.IKey;
  /** The build logs. */
  public readonly logGroup: logs.ILogGroup;

  constructor(scope: Construct, id: string, props: ServingImageBuildProps) {
    super(scope, id);
    const baseImage = props.baseImage ?? DEFAULT_BASE_IMAGE;
    this.validateBaseImage(baseImage);
    const dockerfile = this.relativePath('dockerfile', props.dockerfile ?? 'Dockerfile');
    const goldenDirectory = this.relativePath('goldenDirectory', props.goldenDirectory ?? 'tests/golden');
    const timeout = props.timeout ?? Duration.minutes(60);
    this.validateTimeout(timeout);
    const startupTimeout = props.startupTimeout ?? Duration.seconds(60);
    this.validateStartupTimeout(startupTimeout);
    if (props.modelPrefix !== undefined && !props.modelBucket) {
      throw new MlOpsValidationError(this, 'ServingImageBuild', 'modelPrefix', props.modelPrefix,
        'A prefix is read in modelBucket: give modelBucket too, or drop modelPrefix.');
    }
    const failOn = props.failOnSeverity ?? ScanSeverity.HIGH;

    this.repository = props.repository;
    // CodeBuild stores the artifacts in S3 with this key (SSE-KMS): the project's use of the key goes through S3 only.
    this.encryptionKey = keyViaService(this, 'KeyViaS3',
      createKey(this, 'Key', `cdk-mlops: encrypts the artifacts of the serving image build ${this.node.path}`), 's3');
    this.logGroup = encryptedLogGroup(this, 'Logs');

    const project = new codebuild.PipelineProject(this, 'Resource', {
      description: 'cdk-mlops: builds, tests and pushes a serving image with the model inside',
      buildSpec: codebuild.BuildSpec.fromObject(servingBuildSpec({
        baseImage,
        dockerfile,
        goldenDirectory,
        startupTimeoutSeconds: startupTimeout.toSeconds(),
        blockingSeverities: blockingSeverities(failOn),
      })),
      environment: {
        buildImage: BUILD_IMAGE,
        computeType: props.computeType ?? codebuild.ComputeType.MEDIUM,
        privileged: true,
        environmentVariables: {
          [BUILD_VARIABLES.REPOSITORY_URI]: { value: this.repository.repositoryUri },
          [BUILD_VARIABLES.REPOSITORY_NAME]: { value: this.repository.repositoryName },
        },
      },
      cache: codebuild.Cache.local(codebuild.LocalCacheMode.DOCKER_LAYER),
      encryptionKey: this.encryptionKey,
      timeout,
      logging: { cloudWatch: { logGroup: this.logGroup } },
    });
    this.project = project;
    this.role = project.role!;
    this.grantPrincipal = project.grantPrincipal;

    this.grant(props);
    this.acknowledgeFindings(project, props);
  }

  private grant(props: ServingImageBuildProps): void {
    this.repository.grantPush(this.project);
    // The tag check, the digest after the push and the scan gate (`aws ecr wait image-scan-complete` polls
    // DescribeImageScanFindings).
    this.repository.repository.grant(this.project, 'ecr:DescribeImages', 'ecr:DescribeImageScanFindings');
    props.modelPackageGroup?.grantRead(this.project);
    props.modelBucket?.grantRead(this.project, props.modelPrefix ?? 'runs/');
  }

  private acknowledgeFindings(project: codebuild.PipelineProject, props: ServingImageBuildProps): void {
    const cfnProject = project.node.defaultChild as codebuild.CfnProject;
    exemptFromControlTower(cfnProject, {
      codebuild_project_environment_privileged_check:
        'docker build and docker run (the contract test) need the Docker daemon, which CodeBuild runs only in ' +
        'privileged mode. Only this project has it, and it runs only its own generated buildspec on the pipeline\'s ' +
        'source artifact.',
    });
    const sourceReason = 'The source is the pipeline\'s artifact (source type CODEPIPELINE): the project has no repository URL, ' +
      'so there is no OAuth to set; the pipeline\'s source action holds the connection.';
    acknowledge(cfnProject, {
      'HIPAA.Security-CodeBuildProjectSourceRepoUrl': sourceReason,
      'PCI.DSS.321-CodeBuildProjectSourceRepoUrl': sourceReason,
    });

    const policy = this.role.node.tryFindChild('DefaultPolicy');
    if (!policy) return;
    const defaultGrants = codeBuildDefaultGrantIds(this, cfnProject.ref);
    const findings: Record<string, string> = {
      'AwsSolutions-IAM5[Resource::*]': props.modelPackageGroup
        ? 'ecr:GetAuthorizationToken (docker login) and sagemaker:ListModelPackages have no resource-level permissions: ' +
          'IAM accepts only "*".'
        : 'ecr:GetAuthorizationToken (docker login) has no resource-level permissions: IAM accepts only "*".',
      [defaultGrants.logGroup]:
        'aws-cdk-lib grants every CodeBuild project its default log group\'s streams; this project logs to its own group.',
      [defaultGrants.reportGroups]:
        'aws-cdk-lib grants every CodeBuild project the test report groups named after it, and no other.',
      'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]': 'Encrypts the build artifacts with this build\'s own key only.',
      'AwsSolutions-IAM5[Action::kms:ReEncrypt*]': 'Granted with kms:Encrypt by aws-cdk-lib, on this build\'s own key only.',
      ...INLINE_ROLE_POLICY,
    };
    if (props.modelPackageGroup) {
      findings[`AwsSolutions-IAM5[Resource::${nagResourceId(this, props.modelPackageGroup.modelPackagesArn)}]`] =
        'Reads the model packages (versions) of this one group: the wildcard is the version number.';
    }
    if (props.modelBucket) {
      const prefix = props.modelPrefix ?? 'runs/';
      findings[`AwsSolutions-IAM5[Resource::${nagResourceId(this, props.modelBucket.bucket.arnForObjects(`${prefix}*`))}]`] =
        `Downloads model.tar.gz of any model under ${prefix}: which model is chosen per run.`;
    }
    acknowledge(policy, findings);
  }

  private validateBaseImage(image: string): void {
    if (!isConcrete(image)) return;
    if (image.trim() === '' || /\s/.test(image)) {
      throw new MlOpsValidationError(this, 'ServingImageBuild', 'baseImage', image,
        'Give an image reference like public.ecr.aws/docker/library/python:3.12-slim.');
    }
    if (isDockerHub(image)) {
      throw new MlOpsValidationError(this, 'ServingImageBuild', 'baseImage', image,
        'Docker Hub limits anonymous pulls, which breaks builds: use ECR Public (public.ecr.aws/...) or an ECR pull-through ' +
        'cache (<account>.dkr.ecr.<region>.amazonaws.com/<prefix>/...).');
    }
  }

  private relativePath(prop: string, value: string): string {
    if (!isConcrete(value)) return value;
    const segments = value.split('/');
    if (value === '' || value.startsWith('/') || value.startsWith('~') || value.includes('\\') || segments.includes('..') ||
      /[\r\n]/.test(value)) {
      throw new MlOpsValidationError(this, 'ServingImageBuild', prop, value,
        'Give a path relative to the root of the source artifact, without ".." (for example "serving/Dockerfile").');
    }
    return value.replace(/\/+$/, '') || '.';
  }

  private validateTimeout(timeout: Duration): void {
    if (timeout.isUnresolved()) return;
    const minutes = timeout.toMinutes({ integral: false });
    if (!Number.isInteger(minutes) || minutes < MIN_TIMEOUT_MINUTES || minutes > MAX_TIMEOUT_MINUTES) {
      throw new MlOpsValidationError(this, 'ServingImageBuild', 'timeout', timeout.toHumanString(),
        'CodeBuild accepts whole minutes from 5 to 2160 (36 hours): for example Duration.minutes(60).');
    }
  }

  private validateStartupTimeout(timeout: Duration): void {
    if (timeout.isUnresolved()) {
      throw new MlOpsValidationError(this, 'ServingImageBuild', 'startupTimeout', timeout.toString(),
        'It is written into the buildspec: pass a literal value.');
    }
    const seconds = timeout.toSeconds({ integral: false });
    if (!Number.isInteger(seconds) || seconds < 1 || seconds > MAX_STARTUP_SECONDS) {
      throw new MlOpsValidationError(this, 'ServingImageBuild', 'startupTimeout', timeout.toHumanString(),
        'Give whole seconds from 1 to 3600 (SageMaker waits at most an hour for /ping): for example Duration.seconds(60).');
    }
  }
}

/** The severities that fail the build: the threshold and every more severe one. */
function blockingSeverities(threshold: ScanSeverity): string[] {
  if (threshold === ScanSeverity.NONE) return [];
  return SEVERITY_ORDER.slice(0, SEVERITY_ORDER.indexOf(threshold) + 1);
}

/**
 * Docker's rule: the first path component names a registry only when it has a "." or a ":" or is "localhost";
 * otherwise the reference is on Docker Hub (`python:3.12` is `docker.io/library/python:3.12`).
 */
function isDockerHub(image: string): boolean {
  const slash = image.indexOf('/');
  if (slash < 0) return true;
  const first = image.slice(0, slash).toLowerCase();
  if (!first.includes('.') && !first.includes(':') && first !== 'localhost') return true;
  return DOCKER_HUB_HOSTS.includes(first.replace(/:\d+$/, ''));
}
