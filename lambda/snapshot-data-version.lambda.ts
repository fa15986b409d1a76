// Placeholder entry point: replaced by the snapshot-data-version handler.
export async function handler(): Promise<void> {
  throw new Error('snapshot-data-version: not implemented yet');
}
