import { Size } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { IModelImageRepository } from '../registry/model-image-repository';

/** A serverless variant: pay per request, nothing when idle. */
export interface ServerlessVariantOptions {
  /** Memory per worker: 1 to 6 GiB in whole GiB. */
  readonly memory: Size;
  /** Concurrent invocations, 1 to 200. */
  readonly maxConcurrency: number;
}

/** Asynchronous inference: requests are queued and results written to S3. */
export interface AsyncInferenceOptions {
  /** Where results are written: a `VersionedBucket`, an `s3.Bucket` or an imported `s3.IBucket` (with its key). */
  readonly outputBucket: s3.IBucketRef;
  /**
   * The key prefix of the results.
   * @default 'async-results/'
   */
  readonly outputPrefix?: string;
  /**
   * Concurrent requests per instance.
   * @default - SageMaker chooses
   */
  readonly maxConcurrentInvocationsPerInstance?: number;
}

/**
 * What every endpoint of this library has, always-on ({@link ModelEndpoint}) or created for a test
 * ({@link OnDemandEndpoint}): where its images come from, the model's container and the instances it runs on.
 */
export interface EndpointOptions {
  /**
   * The repository of the serving images (the model and its serving code in one image). Each deployment names an
   * image of it by digest; the endpoint's role may pull from this repository only.
   */
  readonly imageRepository: IModelImageRepository;
  /**
   * A model artifact SageMaker downloads into the container, when the model is not baked into the image.
   * @default - none: the model is in the image
   */
  readonly modelDataUrl?: string;
  /**
   * Environment variables of the serving container.
   * @default - none
   */
  readonly environment?: { [name: string]: string };
  /**
   * The endpoint's name; it stays the same when the model changes.
   * @default - a unique name derived from the construct path
   */
  readonly endpointName?: string;
  /**
   * The variant's name; it must stay the same across updates for blue/green deployments.
   * @default 'AllTraffic'
   */
  readonly variantName?: string;
  /**
   * A real-time instance type (`ml.*`). Ignored for serverless variants.
   * @default 'ml.m5.large'
   */
  readonly instanceType?: string;
  /**
   * Instances at creation (autoscaling keeps its own count across updates).
   * @default 2 for a production endpoint, else 1
   */
  readonly initialInstanceCount?: number;
  /**
   * Asynchronous inference (instance variants only).
   * @default - real-time inference
   */
  readonly asyncInference?: AsyncInferenceOptions;
  /**
   * Network isolation: the container cannot make outbound calls. Serverless variants cannot have it (SageMaker's
   * serverless feature exclusions).
   * @default true for instance variants; not set for serverless variants
   */
  readonly networkIsolation?: boolean;
  /**
   * A VPC for the model's containers (instance variants only: serverless variants cannot have one).
   * @default - no VPC
   */
  readonly vpc?: ec2.IVpc;
  /**
   * Subnets, when `vpc` is set.
   * @default - the VPC's private subnets
   */
  readonly vpcSubnets?: ec2.SubnetSelection;
  /**
   * The key for the storage volumes of the endpoint's instances. Not allowed with instance types that have local
   * NVMe storage (SageMaker encrypts that storage itself and rejects a key).
   * @default - a created key, except on NVMe instance types
   */
  readonly encryptionKey?: kms.IKey;
  /**
   * Capture requests and responses (instance variants only: serverless variants cannot capture).
   * @default true for instance variants
   */
  readonly dataCapture?: boolean;
  /**
   * Where captured data goes (under `data-capture/<endpoint>/`): a `VersionedBucket`, an `s3.Bucket` or an imported
   * `s3.IBucket` (with its key).
   * @default - a VersionedBucket is created (noncurrent versions deleted after 90 days)
   */
  readonly dataCaptureBucket?: s3.IBucketRef;
  /**
   * The share of requests captured, 1 to 100 percent.
   * @default 20
   */
  readonly dataCaptureSamplingPercentage?: number;
}
