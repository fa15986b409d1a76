import { Duration } from 'aws-cdk-lib';
import * as codebuild from 'aws-cdk-lib/aws-codebuild';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { BUILD_VARIABLES, IMAGE_DETAIL_FILE, servingBuildSpec } from './buildspec';
import { DEFAULT_BASE_IMAGE, imageBuildProject, sourcePath, validateBaseImage } from '../private/image-build-project';
import { blockingSeverities } from '../private/image-buildspec';
import { NagReason, REASONS } from '../private/nag-reasons';
import { nagResourceId } from '../private/nag-resource';
import { MlOpsValidationError } from '../private/validation';
import { IModelImageRepository } from '../registry/model-image-repository';
import { IModelPackageGroup } from '../registry/model-package-group';
import { optionalBucketInput } from '../storage/private/bucket-input';

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
   * The bucket that holds the models (`model.tar.gz`) the build downloads: a `VersionedBucket`, an `s3.Bucket` or an
   * imported `s3.IBucket` (its key is granted too).
   * @default - no bucket is readable: grant one through `grantPrincipal`
   */
  readonly modelBucket?: s3.IBucketRef;
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
 *   repository: servingImages,
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
    validateBaseImage(this, 'ServingImageBuild', baseImage);
    const path = (prop: string, value: string) => sourcePath(this, 'ServingImageBuild', prop, value, 'serving/Dockerfile');
    const dockerfile = path('dockerfile', props.dockerfile ?? 'Dockerfile');
    const goldenDirectory = path('goldenDirectory', props.goldenDirectory ?? 'tests/golden');
    const startupTimeout = props.startupTimeout ?? Duration.seconds(60);
    this.validateStartupTimeout(startupTimeout);
    if (props.modelPrefix !== undefined && !props.modelBucket) {
      throw new MlOpsValidationError(this, 'ServingImageBuild', 'modelPrefix', props.modelPrefix,
        'A prefix is read in modelBucket: give modelBucket too, or drop modelPrefix.');
    }

    this.repository = props.repository;
    const build = imageBuildProject(this, {
      constructName: 'ServingImageBuild',
      description: 'cdk-mlops: builds, tests and pushes a serving image with the model inside',
      what: 'the serving image build',
      buildSpec: servingBuildSpec({
        baseImage,
        dockerfile,
        goldenDirectory,
        startupTimeoutSeconds: startupTimeout.toSeconds(),
        blockingSeverities: blockingSeverities(props.failOnSeverity ?? ScanSeverity.HIGH),
      }),
      repository: this.repository,
      computeType: props.computeType,
      timeout: props.timeout ?? Duration.minutes(60),
      dockerUse: 'docker build and docker run (the contract test)',
      repositoryVariables: { uri: BUILD_VARIABLES.REPOSITORY_URI, name: BUILD_VARIABLES.REPOSITORY_NAME },
    });
    this.project = build.project;
    this.role = build.role;
    this.grantPrincipal = build.project.grantPrincipal;
    this.encryptionKey = build.encryptionKey;
    this.logGroup = build.logGroup;

    // The model to bake in: its package (DescribeModelPackage) and its model.tar.gz.
    props.modelPackageGroup?.grantRead(this.project);
    const modelPrefix = props.modelPrefix ?? 'runs/';
    const modelBucket = optionalBucketInput(this, 'ModelBucket', props.modelBucket);
    modelBucket?.grantRead(this.project, modelPrefix);
    const findings: Record<string, NagReason> = {};
    if (props.modelPackageGroup) {
      findings[`AwsSolutions-IAM5[Resource::${nagResourceId(this, props.modelPackageGroup.modelPackagesArn)}]`] =
        REASONS.sagemaker.modelPackagesRead;
    }
    if (modelBucket) {
      findings[`AwsSolutions-IAM5[Resource::${nagResourceId(this, modelBucket.bucket.arnForObjects(`${modelPrefix}*`))}]`] =
        REASONS.s3.modelDownloads(modelPrefix);
    }
    build.acknowledgePolicy(findings, props.modelPackageGroup ? REASONS.ecr.authorizationTokenAndListModelPackages : undefined);
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
