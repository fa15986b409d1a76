import { awscdk, DependencyType, javascript } from 'projen';

// The oldest aws-cdk-lib we support and the one we build and test with. Up to 2.268.0,
// Validations.acknowledge rejects finding ids containing `::` (InvalidValidationId), and every construct that
// acknowledges such a finding throws: 2.269.0 is the first that works. CI proves it (.ci/peer-floor).
const minCdkVersion = '2.269.0';
const devCdkVersion = '2.276.0';

const project = new awscdk.AwsCdkConstructLibrary({
  name: 'cdk-mlops',
  description:
    'AWS CDK constructs for a secure, cheap CI/CD system for machine-learning models: versioned storage, ' +
    'spot GPU training on AWS Batch, quality gates and safe SageMaker deployments.',
  author: 'cdk-mlops maintainers',
  authorAddress: 'maintainers@cdk-mlops.dev',
  repositoryUrl: 'https://github.com/cdk-mlops/cdk-mlops.git',
  license: 'Apache-2.0',
  keywords: ['aws-cdk', 'mlops', 'sagemaker', 'aws-batch', 'spot', 'machine-learning', 'cdk-nag'],
  stability: 'experimental',

  defaultReleaseBranch: 'main',
  projenrcTs: true,
  srcdir: 'lib',
  testdir: 'test',
  libdir: 'lib',
  sampleCode: false,
  github: false,
  release: false,
  lambdaAutoDiscover: false,
  minNodeVersion: '20.0.0',
  typescriptVersion: '~5.9.3',
  packageManager: javascript.NodePackageManager.NPM,

  cdkVersion: devCdkVersion,
  cdkVersionPinning: false,
  constructsVersion: '10.8.1',
  // Peers are not pinned to their floor as devDependencies: we build against devCdkVersion.
  peerDependencyOptions: { pinnedDevDependency: false },
  devDeps: [
    `aws-cdk-lib@${devCdkVersion}`,
    'constructs@10.8.1',
    // The CLI's `latest` tag is an older line that cannot read this aws-cdk-lib's cloud assembly.
    'aws-cdk@^2.1148.1',
    'cdk-nag@^3.0.2',
    '@cdklabs/cdk-validator-cfnguard@0.0.62',
    'ts-node@^10.9.2',
    'esbuild@^0.28.2',
    '@aws-sdk/client-sagemaker@^3.1142.0',
    '@aws-sdk/client-s3@^3.1142.0',
    '@aws-sdk/client-sagemaker-runtime@^3.1142.0',
    '@aws-sdk/client-codepipeline@^3.1138.0',
    '@aws-sdk/client-batch@^3.1138.0',
    '@aws-sdk/client-cloudwatch@^3.1178.0',
    '@types/aws-lambda@^8.10.150',
    'aws-sdk-client-mock@^4.1.0',
    'aws-sdk-client-mock-jest@^4.1.0',
    // A real Amazon States Language interpreter and validator for the synthesized state machines.
    'aws-local-stepfunctions@3.0.0',
    'asl-validator@4.0.0',
  ],

  jestOptions: {
    // CI must fail on a changed snapshot instead of rewriting it.
    updateSnapshot: javascript.UpdateSnapshot.NEVER,
    jestConfig: {
      // jsii writes lib/**/*.js beside the sources: prefer the .ts so tests never run stale output.
      moduleFileExtensions: ['ts', 'js', 'json', 'node'],
      snapshotSerializers: ['<rootDir>/test/support/asset-hash-serializer.ts'],
      // aws-local-stepfunctions needs Promise.withResolvers (Node 22); CI may run Node 20.
      setupFiles: ['<rootDir>/test/support/polyfills.ts'],
      testMatch: ['<rootDir>/test/**/*.test.ts'],
      // Jest's default with --ci is one worker fewer than the cores: one worker on a 2-vCPU runner. Synthesis-heavy
      // suites are CPU-bound and the main process mostly waits, so a worker per core cuts the run by about a third.
      maxWorkers: '100%',
    },
  },

  // jsii targets. CI generates each one's code offline (check:bindings); publishing is not configured here.
  publishToPypi: { distName: 'cdk-mlops', module: 'cdk_mlops' },
  publishToMaven: { javaPackage: 'dev.cdkmlops', mavenGroupId: 'dev.cdk-mlops', mavenArtifactId: 'cdk-mlops' },
  publishToNuget: { dotNetNamespace: 'CdkMlops', packageId: 'CdkMlops' },
  publishToGo: { moduleName: 'github.com/cdk-mlops/cdk-mlops-go' },
  // API.md, regenerated from the assembly after every compile; CI fails when the committed one is stale.
  docgen: true,
  jsiiVersion: '~6.0.13',
});

// Handlers are TypeScript in lambda/, bundled by esbuild at our build and shipped as assets.
// Consumers of a jsii library cannot bundle, so lib/ never uses NodejsFunction.
const handlers = [
  'latest-approved-model',
  'snapshot-data-version',
  'training-cache',
  'aggregate-metrics',
  'quality-gate',
  'register-model',
  'endpoint-test',
  'record-deployment',
  'query-ledger',
  'start-pipeline-on-data',
  'prepare-job-definitions',
  'drift-monitor',
  'model-quality-monitor',
  'retrain-on-drift',
];
for (const handler of handlers) {
  const className = handler.replace(/(^|-)([a-z])/g, (_m, _d, c: string) => c.toUpperCase()) + 'Function';
  new awscdk.LambdaFunction(project, {
    entrypoint: `lambda/${handler}.lambda.ts`,
    constructFile: `lib/handlers/${handler}-function.ts`,
    constructName: className,
    cdkDeps: project.cdkDeps,
    runtime: awscdk.LambdaRuntime.NODEJS_24_X,
    bundlingOptions: {
      // The Node.js Lambda runtime ships the AWS SDK v3: do not bundle it.
      externals: ['@aws-sdk/*'],
      sourcemap: false,
    },
  });
}

// The reference app: `npx cdk synth` bundles the handlers first, then runs bin/ with ts-node (transpile only).
new awscdk.CdkConfig(project, {
  app: 'npx ts-node --prefer-ts-exts -T -P bin/tsconfig.json bin/mlops-reference.ts',
  buildCommand: 'npx projen bundle',
  featureFlags: awscdk.CdkFeatureFlags.V2.fromLocalAwsCdkLib(),
  watchIncludes: ['bin/**', 'lib/**', 'lambda/**'],
});

project.tsconfigDev.addInclude('../bin/**/*.ts');
project.tsconfigDev.addInclude('../lambda/**/*.ts');
project.eslint?.addLintPattern('bin');
project.eslint?.addLintPattern('lambda');
project.eslint?.addLintPattern('bench');
// The reference app, the handlers (the Lambda runtime provides the AWS SDK) and the benchmark use devDependencies.
project.eslint?.allowDevDeps('bin/**');
project.eslint?.allowDevDeps('lambda/**');
project.eslint?.allowDevDeps('bench/**');

// Tests need the bundled handler assets.
project.testTask.prependSpawn(project.tasks.tryFind('bundle')!);

// The public API must stay expressible in every jsii language: compile with jsii, then generate each language's
// code offline (`--code-only` needs neither a registry nor the language's toolchain), and check API.md is current.
const bindingsCheck = project.addTask('check:bindings', {
  description: 'Compile the library and its examples, generate the Python, Java, .NET and Go bindings (code only, offline), check API.md',
});
bindingsCheck.spawn(project.tasks.tryFind('bundle')!);
bindingsCheck.spawn(project.compileTask);
// Every docstring and README example compiles in strict mode, with the names rosetta/default.ts-fixture gives it, and is
// translated into the tablet (.jsii.tabl.json) the bindings below take their examples from.
const rosettaCheck = project.addTask('check:rosetta', {
  description: 'Compile every docstring and README example with jsii-rosetta in strict mode (compile first; offline)',
});
rosettaCheck.exec('jsii-rosetta extract --strict --compile --fail .');
bindingsCheck.spawn(rosettaCheck);
for (const target of ['python', 'java', 'dotnet', 'go']) {
  const check = project.addTask(`check:${target}`, {
    description: `Generate the ${target} bindings from the compiled assembly (code only, offline; compile first)`,
  });
  check.exec(`jsii-pacmak --target ${target} --code-only --outdir dist/bindings-check`);
  bindingsCheck.spawn(check);
}
const apiDocCheck = project.addTask('check:api-md', {
  description: 'Fail when the committed API.md differs from the compiled assembly (compile first; `npx projen docgen` fixes it)',
});
apiDocCheck.exec('jsii-docgen -o dist/API.md');
apiDocCheck.exec('diff -u API.md dist/API.md || (echo "API.md is stale: run npx projen docgen after compile and commit it" && exit 1)');
bindingsCheck.spawn(apiDocCheck);

// The README's architecture picture, from the synthesized reference app (needs Graphviz: apt-get install graphviz).
project.addTask('diagram', {
  description: 'Draw docs/architecture.png from cdk.out/tree.json (run `npx cdk synth` first)',
  exec: 'npx --yes cdk-dia@0.12.3 --tree cdk.out/tree.json --target docs/architecture.png',
});

project.addTask('bench', {
  description: 'Print synth, test, bundle-size and cold-init figures',
  exec: 'ts-node -T -P bin/tsconfig.json bench/run.ts',
});

// Build and test with a newer aws-cdk-lib than the peer range's floor.
project.deps.removeDependency('aws-cdk-lib', DependencyType.PEER);
project.deps.addDependency(`aws-cdk-lib@^${minCdkVersion}`, DependencyType.PEER);

project.package.addField('overrides', { 'unrs-resolver': '1.12.2', '@swc/core': '1.16.18' });
project.addPackageIgnore('/lib/**/*.ts');
project.addPackageIgnore('!/lib/**/*.d.ts');
for (const p of ['/bin/', '/lambda/', '/bench/', '/cdk.json', '/cdk.out/', '/.ci/', '/docs/', '/.readme-snippets/', '/rosetta/']) {
  project.addPackageIgnore(p);
}
project.gitignore.addPatterns('cdk.out', 'dist/bindings-check', '/.readme-snippets/', '.jsii.tabl.json');

project.synth();
