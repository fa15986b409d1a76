export * from './registry/model-package-group';
export * from './registry/latest-approved-model-lookup';
