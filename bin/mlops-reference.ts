#!/usr/bin/env node
import { App } from 'aws-cdk-lib';
import { applyCompliancePacks } from './compliance';
import { MlOpsReferenceStack } from './mlops-reference-stack';

const app = new App();
new MlOpsReferenceStack(app, 'MlOpsReference', {
  description: 'cdk-mlops reference deployment: CI/CD for machine-learning models',
});
applyCompliancePacks(app);
app.synth();
