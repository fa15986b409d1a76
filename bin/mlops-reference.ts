#!/usr/bin/env node
import { App, Validations } from 'aws-cdk-lib';
import { CostReportPlugin } from '../lib';
import { applyCompliancePacks, failOnValidationReport } from './compliance';
import { REFERENCE_COST_ASSUMPTIONS } from './cost-assumptions';
import { MlOpsReferenceStack } from './mlops-reference-stack';

const app = new App();
new MlOpsReferenceStack(app, 'MlOpsReference', {
  description: 'cdk-mlops reference deployment: CI/CD for machine-learning models',
});
applyCompliancePacks(app);
// Reports what the app costs while idle and per run (cdk.out/<stack>.cost-estimate.txt); never fails the synth.
Validations.of(app).addPlugins(new CostReportPlugin(REFERENCE_COST_ASSUMPTIONS));
failOnValidationReport(app.synth());
