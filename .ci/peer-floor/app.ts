// An app built the way a user builds one: on the packed library and the aws-cdk-lib given to the install (the peer
// range's floor in CI). It uses every exported construct, applies the five cdk-nag packs and fails on any finding.
import * as fs from 'fs';
import * as path from 'path';
import { App, Duration, Size, Stack, Validations } from 'aws-cdk-lib';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import { AwsSolutionsChecks, HIPAASecurityChecks, NIST80053R5Checks, PCIDSS321Checks, ServerlessChecks } from 'cdk-nag';
import * as mlops from 'cdk-mlops';
import { Construct } from 'constructs';

const SAMPLES = [{ name: 'typical', body: '{"features": [0.1, 0.2, 0.3]}' }];

class FloorStack extends Stack {
  constructor(scope: Construct, id: string) {
    super(scope, id);
    const data = new mlops.VersionedBucket(this, 'Data', { purpose: mlops.BucketPurpose.DATA });
    const modelArtifacts = new mlops.VersionedBucket(this, 'Models', { purpose: mlops.BucketPurpose.MODELS });
    const checkpoints = new mlops.VersionedBucket(this, 'Checkpoints', { purpose: mlops.BucketPurpose.CHECKPOINTS });
    const source = new mlops.VersionedBucket(this, 'Source', { purpose: mlops.BucketPurpose.SOURCE });
    const dataVersions = new mlops.DataVersionSnapshot(this, 'DataVersions', { bucket: data, dataPrefix: 'datasets/' });

    const servingImages = new mlops.ModelImageRepository(this, 'ServingImages');
    const models = new mlops.ModelPackageGroup(this, 'ModelRegistry');
    const imageBuild = new mlops.ServingImageBuild(this, 'ServingImageBuild', {
      repository: servingImages, modelPackageGroup: models, modelBucket: modelArtifacts,
    });
    new mlops.LatestApprovedModelLookup(this, 'Champion', { modelPackageGroup: models });

    const network = new mlops.BatchNetwork(this, 'Network');
    const gpuQueue = new mlops.SpotGpuQueue(this, 'TrainingQueue', { network });
    const cpuQueue = new mlops.SpotCpuQueue(this, 'EvaluationQueue', { network });
    const trainingImages = new mlops.ModelImageRepository(this, 'TrainingImages');
    const trainingImageBuild = new mlops.TrainingImageBuild(this, 'TrainingImageBuild', { repository: trainingImages });
    const image = ecs.ContainerImage.fromEcrRepository(trainingImages.repository, 'placeholder');
    const train = mlops.MlJobDefinition.training(this, 'Train', {
      queue: gpuQueue, image, command: ['python', '-m', 'train'], reads: [{ bucket: data, prefix: 'datasets/' }],
    });
    const evaluate = mlops.MlJobDefinition.evaluation(this, 'Evaluate', {
      queue: cpuQueue, image, command: ['python', '-m', 'evaluate'], vcpus: 2, memory: Size.gibibytes(4), shards: 4,
      reads: [{ bucket: data, prefix: 'datasets/' }],
    });
    const training = new mlops.TrainingWorkflow(this, 'Training', {
      candidates: [{ name: 'logreg', trainingJob: train, hyperparameters: { learning_rate: '0.1' } }],
      evaluationJob: evaluate,
      modelPackageGroup: models,
      trainingImageRepository: trainingImages,
      dataBucket: data,
      modelBucket: modelArtifacts,
      checkpointBucket: checkpoints,
      dataSnapshot: dataVersions,
      inferenceImageUri: servingImages.uriForTag('base'),
      gate: { primaryMetric: 'auc', thresholds: [{ metric: 'auc', min: 0.75 }], fairness: [{ metric: 'auc', maxGap: 0.1 }] },
    });

    const staging = new mlops.ModelEndpoint(this, 'StagingEndpoint', {
      imageRepository: servingImages, serverless: { memory: Size.gibibytes(2), maxConcurrency: 5 },
    });
    const production = new mlops.ModelEndpoint(this, 'ProductionEndpoint', {
      imageRepository: servingImages,
      production: true,
      instanceType: 'ml.c6i.large',
      deploymentPolicy: mlops.DeploymentPolicy.canary({ canaryPercent: 10, canaryBakeTime: Duration.minutes(10) }),
    });
    const pipeline = new mlops.MlPipeline(this, 'Pipeline', {
      source: mlops.PipelineSource.s3({ bucket: source, objectKey: 'source/code.zip' }),
      trainingImageBuild,
      training,
      imageBuild,
      stagingDeployment: new mlops.EndpointDeployment(this, 'StagingDeployment', { endpoint: staging }),
      stagingTest: new mlops.EndpointTestRunner(this, 'StagingTest', { endpoint: staging, samples: SAMPLES }),
      productionDeployment: new mlops.EndpointDeployment(this, 'ProductionDeployment', { endpoint: production }),
      ledger: new mlops.DeploymentLedger(this, 'DeploymentLedger', { endpoints: [production] }),
      shadowTest: new mlops.ShadowTest(this, 'Shadow', { endpoint: production }),
      dataPrefix: 'datasets/',
    });
    new mlops.DataVersionTrigger(this, 'NewData', { bucket: data, prefix: 'datasets/', pipeline: pipeline.pipeline });

    // Monitoring: drift and quality of the production endpoint, retraining on drift, one dashboard, alert mail.
    const drift = new mlops.DriftMonitor(this, 'Drift', {
      endpoint: production, modelPackageGroup: models, modelBucket: modelArtifacts, dataBucket: data, features: ['amount', 'age'],
    });
    const quality = new mlops.ModelQualityMonitor(this, 'Quality', { endpoint: production });
    new mlops.RetrainingTrigger(this, 'Retrain', { pipeline: pipeline.pipeline, alarms: [drift.driftAlarm] });
    new mlops.MlOpsDashboard(this, 'Dashboard', {
      pipeline: pipeline.pipeline, endpoints: [staging, production], driftMonitors: [drift], qualityMonitors: [quality],
    });
    new mlops.AlertSubscriptions(this, 'Alerts', { emails: ['ml-oncall@example.com'] });
    mlops.MlOpsKeys.of(this);

    // The other staging shape: an endpoint created for each test and deleted after it.
    const ephemeral = new mlops.OnDemandEndpoint(this, 'EphemeralEndpoint', {
      imageRepository: servingImages, endpointName: 'floor-ephemeral', instanceType: 'ml.c6i.large',
    });
    new mlops.EphemeralEndpointTest(this, 'EphemeralTest', {
      endpoint: ephemeral, test: new mlops.EndpointTestRunner(this, 'EphemeralTestRunner', { endpoint: ephemeral, samples: SAMPLES }),
    });
    new mlops.SpendBudget(this, 'Budget', { limitUsd: 100 });
  }
}

interface Report {
  pluginReports: Array<{ pluginName: string; violations: Array<{ ruleName: string; violatingConstructs?: Array<{ constructPath?: string }> }> }>;
}

const outdir = path.resolve(process.argv[2] ?? 'cdk.out');
const app = new App({ outdir });
new FloorStack(app, 'PeerFloor');
Validations.of(app).addPlugins(
  new AwsSolutionsChecks(app), new HIPAASecurityChecks(app), new NIST80053R5Checks(app), new PCIDSS321Checks(app), new ServerlessChecks(app),
);

// Every exported construct class has an instance in the app, so a new construct cannot escape the floor check.
const constructClasses = Object.entries(mlops).filter(([, value]) => typeof value === 'function' && value.prototype instanceof Construct);
const all = app.node.findAll();
const unused = constructClasses.filter(([, cls]) => !all.some((c) => c instanceof (cls as abstract new (...args: never[]) => unknown)));
if (unused.length > 0) {
  throw new Error(`the floor app does not use ${unused.map(([name]) => name).join(', ')}: add them to .ci/peer-floor/app.ts`);
}

let synthError: unknown;
try {
  app.synth();
} catch (error) {
  synthError = error;
}
const reportFile = path.join(outdir, 'validation-report.json');
const report: Report = fs.existsSync(reportFile) ? JSON.parse(fs.readFileSync(reportFile, 'utf-8')) : { pluginReports: [] };
const findings = report.pluginReports.flatMap((p) => p.violations.flatMap((v) =>
  (v.violatingConstructs ?? [{}]).map((c) => `${p.pluginName}: ${v.ruleName} at ${c.constructPath ?? '?'}`)));
if (findings.length > 0 || synthError) {
  console.error([...findings, ...(synthError ? [String((synthError as Error).stack ?? synthError)] : [])].join('\n'));
  process.exit(1);
}
console.log(`peer floor: ${constructClasses.length} constructs, ${all.length} nodes, five cdk-nag packs, no finding`);
