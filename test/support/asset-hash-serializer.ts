/**
 * Jest snapshot serializer: asset hashes change with every handler build, so snapshots show a placeholder.
 */
const ASSET_HASH = /[0-9a-f]{64}(\.zip|\.json)?/g;

module.exports = {
  test: (value: unknown) => typeof value === 'string' && /[0-9a-f]{64}/.test(value),
  serialize: (value: string) => JSON.stringify(value.replace(ASSET_HASH, (_m, ext?: string) => `[ASSET_HASH]${ext ?? ''}`)),
};
