import { CACHE_RECORD_PREFIX } from './contract/workflow';

/**
 * A reason from {@link REASONS}. A plain string is not one, so an acknowledgement or Control Tower exemption cannot
 * be given a reason written at its call site: each reason is written once, here, where a reviewer reads them all.
 */
export type NagReason = string & { readonly fromNagReasonCatalogue: true };

function reason(text: string): NagReason {
  return text as NagReason;
}

/**
 * Every reason the library gives for a cdk-nag finding it acknowledges or a Control Tower rule its resource does not
 * meet, by the service of the resource or permission concerned. An entry is a text, or a function of the names
 * known only where it is used (a prefix, a job definition); each says what is acknowledged and why that is safe.
 */
export const REASONS = {
  iam: {
    inlineRolePolicy: reason('The policy holds the least-privilege statements of grant*() calls for this one role; it is ' +
      'created, changed and deleted with the role and attached to nothing else.'),
  },

  lambda: {
    outsideVpc: reason('Calls only AWS service APIs over TLS and reaches no private resource; pass `vpc` to place it in a VPC.'),
    noReservedConcurrency: reason('Reserved concurrency is taken from the account pool (10 in all on new accounts) and would ' +
      'break deployments there; calls are rare and bounded by the caller.'),
    synchronousNoDeadLetterQueue: reason('Invoked synchronously: the caller receives the error; a dead-letter queue only ' +
      'receives failed asynchronous events.'),
    basicExecutionRole: reason('AWS managed policy that allows only logs:CreateLogStream and logs:PutLogEvents, for the ' +
      'function\'s logs.'),
    // AWS Managed Policy Reference, AWSLambdaVPCAccessExecutionRole,
    // https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AWSLambdaVPCAccessExecutionRole.html
    vpcAccessExecutionRole: reason('AWS managed policy with the log writes of the basic role and only the ec2 actions Lambda ' +
      'needs to attach the function to its subnets (network interfaces: create, describe, delete, assign/unassign private ' +
      'IPs; DescribeSubnets).'),
    tracing: reason('xray:PutTraceSegments and xray:PutTelemetryRecords (active tracing) have no resource-level permissions: ' +
      'IAM accepts only "*".'),
    tracingAndListModelPackages: reason('xray:PutTraceSegments and xray:PutTelemetryRecords (active tracing) and ' +
      'sagemaker:ListModelPackages (metadata only, no artifacts) have no resource-level permissions: IAM accepts only "*".'),
    tracingAndPutMetricData: (namespace: string) => reason('xray:PutTraceSegments and xray:PutTelemetryRecords (active ' +
      `tracing) and cloudwatch:PutMetricData (limited to the ${namespace} namespace by the cloudwatch:namespace condition) ` +
      'have no resource-level permissions: IAM accepts only "*".'),
    tracingListModelPackagesAndPutMetricData: (namespace: string) => reason('xray:PutTraceSegments and ' +
      'xray:PutTelemetryRecords (active tracing), sagemaker:ListModelPackages (metadata only) and cloudwatch:PutMetricData ' +
      `(limited to the ${namespace} namespace by condition) have no resource-level permissions: IAM accepts only "*".`),
    tracingAndPutJobResults: reason('codepipeline:PutJobSuccessResult and PutJobFailureResult have no resource-level ' +
      'permissions (IAM accepts only "*"), nor have X-Ray\'s PutTraceSegments / PutTelemetryRecords (tracing).'),
    tracingAndDescribeJobDefinitions: reason('batch:DescribeJobDefinitions has no resource-level permissions (IAM accepts ' +
      'only "*"), nor have X-Ray\'s PutTraceSegments / PutTelemetryRecords (tracing).'),
    invokedFunctionVersions: reason('aws-cdk-lib grants the versions and aliases (ARN:*) of the one function invoked, not ' +
      'other functions.'),
  },

  stepFunctions: {
    logsAndTracing: reason('CloudWatch Logs delivery (logs:CreateLogDelivery and related) and X-Ray tracing accept only "*".'),
    logsTracingAndAutoScaling: reason('CloudWatch Logs delivery (logs:CreateLogDelivery and related) and X-Ray tracing ' +
      'accept only "*"; Application Auto Scaling\'s RegisterScalableTarget and PutScalingPolicy name a scalable target by ' +
      'a generated ID, unknown at synth.'),
    logsTracingAndBatchSync: reason('CloudWatch Logs delivery (logs:CreateLogDelivery and related) and X-Ray tracing accept ' +
      'only "*"; batch:DescribeJobs and batch:TerminateJob of the Batch .sync integration are granted on "*" as the Step ' +
      'Functions guide ("IAM policies for AWS Batch") gives them: the job ids exist only at run time.'),
    logsTracingAndGetMetricData: reason('CloudWatch GetMetricData, CloudWatch Logs delivery and X-Ray tracing accept only "*".'),
    stagingTestExecutions: reason('Waits for the staging test\'s own executions (DescribeExecution / StopExecution), named ' +
      'at run time.'),
    trainingExecutions: reason('Reads the output of the training workflow\'s executions (the pipeline passes the one of ' +
      'this run).'),
  },

  kms: {
    bucketWriteDataKeys: reason('SSE-KMS uploads need kms:GenerateDataKey: the GenerateDataKey* wildcard covers only data ' +
      'key calls, and the statement names only the key of the bucket written to.'),
    bucketWriteReEncrypt: reason('Granted with kms:Encrypt by aws-cdk-lib\'s encrypt grant (kms.IKey.grantEncrypt): the ' +
      'ReEncrypt* wildcard covers only re-encryption calls, and the statement names only the key of the bucket written to.'),
    buildArtifactDataKeys: reason('Encrypts the build artifacts with this build\'s own key only.'),
    buildArtifactReEncrypt: reason('Granted with kms:Encrypt by aws-cdk-lib, on this build\'s own key only.'),
    endpointDataKeys: reason('SSE-KMS data keys for the objects the endpoint writes (data capture, asynchronous results), ' +
      'with those buckets\' keys only.'),
    endpointReEncrypt: reason('Granted with kms:Encrypt by aws-cdk-lib, on the keys of this endpoint\'s buckets and volumes only.'),
    replicationReEncrypt: reason('Replication decrypts with the source key and re-encrypts with the replica key.'),
    replicationDataKeys: reason('Replication creates data keys of the replica key to encrypt replicas.'),
    pipelineArtifactKey: reason('The artifact bucket\'s key only, for the encrypted artifacts.'),
  },

  s3: {
    accessLogsBucketLogging: reason('This is the access-log bucket: logging its own accesses into itself would loop.'),
    accessLogsReplication: reason('Access logs are audit records of this region; replicate them with your organization\'s ' +
      'log archive.'),
    accessLogsSseS3: reason('S3 server access log delivery supports only SSE-S3 (AES-256) on the target bucket, not SSE-KMS.'),
    accessLogsNoObjectLock: reason('S3 cannot deliver server access logs to a bucket with Object Lock.'),
    objectLockElective: reason('Object Lock is elective (CT.S3.PR.3 is not mandatory) and an option here (`objectLock`): ' +
      'versioning, RETAIN and grants without s3:DeleteObjectVersion keep every version; a lock would also block the ' +
      'lifecycle expiry of old versions.'),
    replicationOptional: reason('Cross-region replication doubles storage cost and needs a bucket and key in a second ' +
      'region; it is an option (`replication`). Versioning, Object Lock (optional) and RETAIN protect against loss in-region.'),
    replicationReadsSource: reason('S3 replication reads every object version of this bucket: replication is of the whole bucket.'),
    replicationWritesDestination: reason('S3 replication writes replicas of every key into the destination bucket.'),
    jobObjects: (verb: 'reads' | 'writes', prefix: string) => reason(`The job ${verb} the objects under ` +
      `${prefix ? `the prefix "${prefix}"` : 'the whole bucket'} it was given (\`${verb}\`); S3 scopes object permissions ` +
      'to a key prefix with a trailing "*".'),
    dataVersionObjects: reason('Reads the versions of the objects under the data prefix it snapshots; the key names are the data.'),
    dataVersionManifests: reason('Writes and reads manifests under the manifest prefix only; the file name is the data version id.'),
    ledgerRecordsWrite: reason('Lists and writes the ledger records under deployments/ only; the key names are the endpoint, ' +
      'the time and the execution.'),
    ledgerRecordsRead: reason('Lists and reads the ledger records under deployments/ only; the key names are the endpoint, ' +
      'the time and the execution.'),
    captureFiles: reason('Reads the capture files of this endpoint only; SageMaker names them by hour and request batch.'),
    labelsFiles: reason('Reads the labels files of this endpoint only.'),
    driftBaselines: reason('Reads and writes the baselines of this model package group only, one per model version.'),
    lineageData: reason('Reads (never writes) the data manifest of a model\'s lineage and the training files it lists, which ' +
      'may lie anywhere in the data bucket.'),
    dataCaptureObjects: reason('Data capture writes one object per batch of captured requests under this endpoint\'s prefix.'),
    asyncResults: reason('Asynchronous inference writes one result object per request under the output prefix.'),
    modelDownloads: (prefix: string) => reason(`Downloads model.tar.gz of any model under ${prefix}: which model is chosen ` +
      'per run.'),
    smokeSample: reason('Reads the objects of the data sample, under its prefix only (copied whole before the smoke training).'),
    pipelineArtifactActions: reason('aws-cdk-lib grants the pipeline\'s actions access to its own artifact bucket with these ' +
      'action groups.'),
    pipelineArtifactObjects: reason('The pipeline\'s own artifact bucket: artifact keys are generated per execution.'),
    evaluationAggregateRead: reason('Reads the evaluation aggregate of a cached model under evaluations/ (one prefix per ' +
      'execution and candidate).'),
    trainingCacheRecords: reason(`Reads and writes the training cache's records under ${CACHE_RECORD_PREFIX} (one object ` +
      'per cache key).'),
    trainingRunMetrics: reason('Reads the metrics.json of the training runs under runs/ (one prefix per execution and candidate).'),
    evaluationShards: reason('Reads the shard metrics and writes the aggregate under evaluations/ (one prefix per execution ' +
      'and candidate).'),
    trainingLayout: (prefix: string, access: 'read' | 'readWrite') => reason('The training workflow\'s layout: jobs ' +
      `${access === 'read' ? 'read' : 'write'} under ${prefix}<execution>/<candidate>/.`),
    dataVersionManifestsRead: (prefix: string) => reason(`Reads the data version manifests under ${prefix} (one file per ` +
      'data version id), to read the data at the versions they list.'),
  },

  ecr: {
    authorizationTokenForPulls: reason('ecr:GetAuthorizationToken (the registry login before a pull) has no resource-level ' +
      'permissions: IAM accepts only "*". The pull actions themselves name the image repositories.'),
    authorizationTokenForDocker: reason('ecr:GetAuthorizationToken (docker login) has no resource-level permissions: IAM ' +
      'accepts only "*".'),
    authorizationTokenAndListModelPackages: reason('ecr:GetAuthorizationToken (docker login) and sagemaker:ListModelPackages ' +
      'have no resource-level permissions: IAM accepts only "*".'),
  },

  sqs: {
    deadLetterQueueNotRedriven: reason('This queue is the dead-letter queue: its messages are read by people (or replayed), ' +
      'not processed by a consumer that could fail.'),
    deadLetterQueueOf: (of: string) => reason(`The dead-letter queue of ${of}, not of an SQS queue: its redrive allow ` +
      'policy denies all SQS source queues, which the rule does not count as a dead-letter queue mark.'),
    eventTargetDeadLetterQueue: reason('This queue is the dead-letter queue of the EventBridge rule\'s target (cdk-nag ' +
      'recognises dead-letter queues of SQS queues and Lambda functions only).'),
    emailSubscriptionsDeadLetterQueue: reason('This queue is itself a dead-letter queue: the redrive policy of the SNS email ' +
      'subscriptions, which cdk-nag does not recognise (it looks for SQS redrive policies only).'),
  },

  events: {
    runnableAlertsNoDeadLetterQueue: reason('The target is the alerts topic; if a notification cannot be delivered, the alarm ' +
      'below on the same rule still changes state, so a dead-letter queue would hold a third copy of the same signal.'),
  },

  ec2: {
    publicComputeRoute: reason('BatchEgress.PUBLIC_SUBNETS: the compute reaches AWS APIs (ECS, ECR, CloudWatch Logs) and the ' +
      'internet through this route instead of a NAT ($0 idle instead of ~$36.50/month). The compute security group has no ' +
      'ingress rule, so the route carries only connections the compute opens and their replies. Choose ' +
      'BatchEgress.NAT_GATEWAY or interfaceEndpoints() for no route to the internet gateway from the compute subnets.'),
    natSubnetRoute: (nat: 'instance' | 'gateway') => reason(`The public subnets hold only the NAT ${nat}, which needs this ` +
      'route to the internet gateway; they map no public IP on launch, and the compute runs in the private subnets, whose ' +
      'default route goes to the NAT.'),
    publicComputeIps: reason('BatchEgress.PUBLIC_SUBNETS: Batch instances and Fargate tasks need a public IPv4 address to ' +
      'reach ECS, ECR and CloudWatch Logs without a NAT (AWS Batch user guide: without NAT, container instances need public ' +
      'IPs; Fargate jobs assignPublicIp ENABLED). The compute security group admits no inbound traffic; addresses exist ' +
      'only while jobs run. Choose BatchEgress.NAT_GATEWAY for compute without public IPs.'),
    restrictDefaultSgHandlerOutsideVpc: reason('aws-cdk-lib\'s handler that removes the rules of the VPC default security ' +
      'group: it runs only while the stack deploys and calls only the EC2 API. Inside the VPC it closes, it would need that ' +
      'VPC\'s egress to exist first.'),
    natInstanceBasicMonitoring: reason('Basic (5-minute) EC2 metrics suffice for a NAT instance; detailed monitoring would ' +
      'add $2.10/month, two thirds of the instance\'s price.'),
    natInstanceNoTerminationProtection: reason('A NAT instance holds no data and is replaced by a deployment; termination ' +
      'protection would make `cdk destroy` fail. Choose BatchEgress.NAT_GATEWAY for a managed, self-healing NAT.'),
    natInstancePublicIp: reason('A NAT instance needs a public IP to forward the private subnets\' traffic to the internet; ' +
      'its security group admits only TCP and UDP from the VPC\'s CIDR.'),
    natInstanceInVpc: reason('The NAT instance is in the VPC\'s public subnet: aws-cdk-lib sets the subnet on its network ' +
      'interface (to associate the public IP), where the rule does not look.'),
    natInstanceNoNitroEncryption: reason('A t4g.nano (the cheapest NAT) does not encrypt traffic between instances in ' +
      'hardware; what passes through it is the jobs\' own TLS traffic to AWS and the internet.'),
  },

  batch: {
    ecsInstanceRole: reason('The AWS managed policy the ECS agent on Batch instances needs (register the instance, pull ' +
      'images, send logs); jobs do not use it: they run with their own job role and IMDSv2 hop limit 1 keeps containers off ' +
      'the instance role.'),
    submitEveryRevision: (jobDefinitionName: string) => reason('batch:SubmitJob on every revision (NAME:*) of the one job ' +
      `definition ${jobDefinitionName}: each deployment that changes it registers a new revision, and jobs are submitted by name.`),
    derivedRevisions: (derivedName: string) => reason('Registers, tags and deregisters the revisions (NAME:*) of the one ' +
      `derived job definition ${derivedName}: each image gets a revision.`),
    runTimeRevisions: reason('The jobs run revisions of this workflow\'s job definitions registered at run time for the ' +
      'run\'s images (their ARNs exist only then); SubmitJob also needs the queue, and only this workflow\'s training and ' +
      'evaluation queues are granted, so no other job can be submitted anywhere else.'),
  },

  codebuild: {
    sourceIsThePipeline: reason('The source is the pipeline\'s artifact (source type CODEPIPELINE): the project has no ' +
      'repository URL or credentials, so there is no OAuth to set; the pipeline\'s source action holds the connection.'),
    privilegedForDocker: (dockerUse: string) => reason(`Runs ${dockerUse} on the Docker daemon, which CodeBuild runs ` +
      'only in privileged mode. Only this project has it, and it runs only its own generated buildspec on the ' +
      'pipeline\'s source artifact.'),
    defaultLogGroupGrant: reason('aws-cdk-lib grants every CodeBuild project its default log group\'s streams; this project ' +
      'logs to its own group.'),
    defaultReportGroupsGrant: reason('aws-cdk-lib grants every CodeBuild project the test report groups named after it, and ' +
      'no other.'),
    checkSecret: (name: string) => reason(`aws-cdk-lib grants the Check build GetSecretValue on the secret ${name} its ` +
      'environment variables reference, with * for the random suffix Secrets Manager appends to a secret\'s name.'),
  },

  codepipeline: {
    actionsWithoutResources: reason('Actions without resource-level permissions (codepipeline:PutJob*Result, X-Ray, log ' +
      'delivery, ecr:GetAuthorizationToken).'),
    stateMachineExecutions: reason('The Step Functions action follows the executions of the one state machine it starts.'),
  },

  sagemaker: {
    modelPackagesRead: reason('Reads the model packages (versions) of this one group: the wildcard is the version number.'),
    modelPackagesRegister: reason('Registers and reads model packages (versions) of this one group: the wildcard is the ' +
      'version number.'),
    modelPackagesLineage: reason('Describes the model packages (versions) of this one group, to read the lineage of the ' +
      'serving model.'),
    deploymentModels: reason('Each execution creates a model of its own name (<endpoint>-<hash of the execution ARN>), ' +
      'unknown at synth; only names with this endpoint\'s prefix may be created and tagged.'),
    deploymentConfigs: reason('Each execution creates an endpoint configuration of its own name, unknown at synth; only ' +
      'names with this endpoint\'s prefix may be created, tagged and deployed.'),
    ephemeralModels: reason('Each execution creates and deletes a model of its own name (<endpoint>-<hash of the execution ' +
      'ARN>), unknown at synth; only names with this endpoint\'s prefix.'),
    ephemeralConfigs: reason('Each execution creates and deletes an endpoint configuration of its own name, unknown at ' +
      'synth; only names with this endpoint\'s prefix.'),
    shadowModels: reason('Each execution creates a shadow model of its own name (<endpoint>-<hash of the execution ARN>), ' +
      'unknown at synth.'),
    shadowExperiments: reason('Each execution creates an inference experiment of its own name, unknown at synth.'),
    experimentConfigs: reason('The inference experiment creates and removes the endpoint configuration that adds the ' +
      'shadow variant, under a name SageMaker chooses; only SageMaker can assume this role.'),
    experimentModels: reason('The experiment reads the models of this endpoint (production\'s and the shadow, each named ' +
      '<endpoint>-<hash of an execution ARN>, unknown at synth; any model when the endpoint name is a token).'),
    servedConfigs: reason('The configuration the endpoint serves was created by a deployment execution under a name unknown ' +
      'at synth.'),
    ledgerConfigs: reason('Endpoint config names are generated by CloudFormation at each deployment: the function reads ' +
      '(Describe only) the config the endpoint reports, which it cannot know in advance. DescribeEndpoint is limited to the ' +
      'ledger\'s endpoints.'),
    ledgerModels: reason('Model names are generated by CloudFormation at each deployment: the function reads (Describe only) ' +
      'the model of the endpoint config\'s first variant, to check the image it serves.'),
    endpointRoleWithoutResources: reason('ecr:GetAuthorizationToken and cloudwatch:PutMetricData (limited to the SageMaker ' +
      'namespaces by condition) have no resource-level permissions.'),
    endpointLogGroups: reason('SageMaker writes the container logs to /aws/sagemaker/Endpoints/<endpoint name>, created at ' +
      'deployment.'),
  },
};
