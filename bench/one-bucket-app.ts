#!/usr/bin/env node
/**
 * The benchmark's baseline: one S3 bucket, synthesized by the same runner with the same five cdk-nag packs as
 * the reference app, so the ratio shows what the library's constructs cost, not the runner's start-up.
 */
import { App, Stack } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { applyCompliancePacks } from '../bin/compliance';

const app = new App();
const stack = new Stack(app, 'OneBucket');
new s3.Bucket(stack, 'Bucket');
applyCompliancePacks(app);
try {
  app.synth();
} catch {
  // A bare bucket has findings; the baseline measures time, not compliance.
}
