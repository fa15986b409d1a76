/**
 * Pure statistics of the drift monitor: the baseline of the training data (quantile bins per numeric feature), the
 * captured instances read from SageMaker's data capture files, and the population stability index (PSI) between them.
 * No SDK calls here, so it is tested without mocks.
 *
 * PSI = sum over bins of (actual - expected) x ln(actual / expected), the shares of values per bin of the baseline
 * and of the captured data. A common reading: below 0.1 no real change, 0.1-0.25 a moderate shift, above 0.25 a
 * large one. Bins are the training data's quantiles, so each holds about the same share of training values.
 */
import { DriftBaseline, FeatureBaseline } from '../../lib/private/contract/monitoring';

/** A share never counts as 0 in the PSI (ln(0) is infinite): an empty bin counts as this share. */
export const MIN_SHARE = 1e-4;

/** One captured request and its response, decoded. */
export interface CaptureRecord {
  /** SageMaker's id of the event (always present). */
  readonly eventId: string;
  /** The caller's InferenceId, when the caller gave one. */
  readonly inferenceId?: string;
  readonly inferenceTime?: string;
  /** The request body: parsed JSON, or the text of a CSV body; undefined when not captured. */
  readonly input?: unknown;
  /** The response body, likewise. */
  readonly output?: unknown;
}

/** One instance of a request: feature name -> its value, undefined when missing or not a finite number. */
export type Instance = Record<string, number | undefined>;

/** What one capture file shows against the baseline. */
export interface DriftReport {
  readonly instances: number;
  /** The largest PSI of any feature; undefined when fewer instances than the minimum were read. */
  readonly driftScore?: number;
  /** The feature with the largest PSI. */
  readonly driftiestFeature?: string;
  /** The largest share of instances without a feature (0 when no instance was read). */
  readonly missingFeatureRate: number;
  readonly features: Record<string, { readonly psi?: number; readonly missingRate: number }>;
}

/** Parses CSV text with a header row into records (RFC 4180 quoting: `"a,b"`, `""` for a quote). */
export function parseCsv(text: string): Record<string, string>[] {
  const rows = csvRows(text);
  if (rows.length === 0) return [];
  const header = rows[0];
  return rows.slice(1)
    .filter((r) => !(r.length === 1 && r[0] === ''))
    .map((r) => Object.fromEntries(header.map((name, i) => [name, r[i] ?? ''])));
}

function csvRows(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; i++; } else if (c === '"') {quoted = false;} else {field += c;}
    } else if (c === '"' && field === '') {
      quoted = true;
    } else if (c === ',') {
      row.push(field); field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field); rows.push(row); row = []; field = '';
    } else {
      field += c;
    }
  }
  if (field !== '' || row.length > 0) { row.push(field); rows.push(row); }
  return rows;
}

/** A value as a feature value: finite numbers and numeric strings; anything else is missing. */
export function numericValue(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value === 'string' && value.trim() !== '') {
    const n = Number(value);
    return Number.isFinite(n) ? n : undefined;
  }
  return undefined;
}

/**
 * Inner bin edges at the values' quantiles (1/bins, 2/bins, ...), duplicates removed: a feature with few distinct
 * values (a count, a flag) gets fewer bins rather than empty ones.
 */
export function quantileEdges(values: readonly number[], bins: number): number[] {
  if (!Number.isInteger(bins) || bins < 2) throw new Error(`drift: bins must be a whole number of at least 2, not ${bins}`);
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return [];
  const edges: number[] = [];
  for (let k = 1; k < bins; k++) {
    // The smallest value with at least k/bins of the values below or at it; edges are lower bounds of bins.
    const edge = sorted[Math.min(sorted.length - 1, Math.ceil((k * sorted.length) / bins))];
    if (edge > sorted[0] && (edges.length === 0 || edge > edges[edges.length - 1])) edges.push(edge);
  }
  return edges;
}

/** The bin of a value: 0 below the first edge, i for [edges[i-1], edges[i]), edges.length at or above the last. */
export function binOf(value: number, edges: readonly number[]): number {
  let lo = 0;
  let hi = edges.length;
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    if (value >= edges[mid]) lo = mid + 1; else hi = mid;
  }
  return lo;
}

/** The share of values in each of the edges' bins (all 0 for no values). */
export function binShares(values: readonly number[], edges: readonly number[]): number[] {
  const counts = new Array<number>(edges.length + 1).fill(0);
  for (const v of values) counts[binOf(v, edges)]++;
  return counts.map((c) => (values.length === 0 ? 0 : c / values.length));
}

/** The population stability index between two distributions over the same bins. */
export function populationStabilityIndex(expected: readonly number[], actual: readonly number[]): number {
  if (expected.length !== actual.length) throw new Error(`drift: ${expected.length} expected bins, ${actual.length} actual bins`);
  let psi = 0;
  for (let i = 0; i < expected.length; i++) {
    const e = Math.max(expected[i], MIN_SHARE);
    const a = Math.max(actual[i], MIN_SHARE);
    psi += (a - e) * Math.log(a / e);
  }
  return psi;
}

/** The baseline of one feature from its training values (undefined: missing). */
export function featureBaseline(values: readonly (number | undefined)[], bins: number): FeatureBaseline {
  const present = values.filter((v): v is number => v !== undefined);
  const edges = quantileEdges(present, bins);
  return { edges, shares: binShares(present, edges), missingRate: values.length === 0 ? 0 : 1 - present.length / values.length };
}

/** The baseline of the features over the training rows (CSV records). Fails when a feature is never numeric. */
export function computeBaseline(
  rows: readonly Record<string, string>[],
  features: readonly string[],
  bins: number,
  source: { modelPackageArn: string; dataManifest: string },
): DriftBaseline {
  if (rows.length === 0) throw new Error(`drift: the training data of ${source.modelPackageArn} has no rows`);
  const out: Record<string, FeatureBaseline> = {};
  for (const feature of features) {
    const baseline = featureBaseline(rows.map((r) => numericValue(r[feature])), bins);
    if (baseline.missingRate === 1) {
      throw new Error(`drift: the training data (${source.dataManifest}) has no numeric column '${feature}'; ` +
        `its columns are ${Object.keys(rows[0]).join(', ')}`);
    }
    out[feature] = baseline;
  }
  return { format: 'cdk-mlops-baseline/1', ...source, rows: rows.length, features: out };
}

/**
 * Reads a SageMaker data capture file: one JSON line per request, `captureData.endpointInput` and `.endpointOutput`
 * each with `data` and its `encoding` (JSON, CSV or BASE64), `eventMetadata` with `eventId` (and `inferenceId` when the
 * caller gave one). Lines that are not capture records are skipped.
 */
export function parseCaptureFile(text: string): CaptureRecord[] {
  const records: CaptureRecord[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    let parsed: any;
    try {
      parsed = JSON.parse(line);
    } catch {
      continue;
    }
    const metadata = parsed?.eventMetadata;
    if (typeof metadata?.eventId !== 'string') continue;
    records.push({
      eventId: metadata.eventId,
      inferenceId: typeof metadata.inferenceId === 'string' ? metadata.inferenceId : undefined,
      inferenceTime: typeof metadata.inferenceTime === 'string' ? metadata.inferenceTime : undefined,
      input: decodeCaptured(parsed?.captureData?.endpointInput),
      output: decodeCaptured(parsed?.captureData?.endpointOutput),
    });
  }
  return records;
}

function decodeCaptured(captured: any): unknown {
  if (typeof captured?.data !== 'string') return undefined;
  const encoding = String(captured.encoding ?? '').toUpperCase();
  const text = encoding === 'BASE64' ? Buffer.from(captured.data, 'base64').toString('utf8') : captured.data;
  if (encoding === 'CSV') return text;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/**
 * The instances of a request body: `{"instances": [...]}` (or a bare array) of objects with the features by name, or
 * of arrays with their values in `features` order; a CSV body is one instance per line, values in `features` order.
 */
export function instancesOf(input: unknown, features: readonly string[]): Instance[] {
  const toInstance = (item: unknown): Instance => {
    if (Array.isArray(item)) return Object.fromEntries(features.map((f, i) => [f, numericValue(item[i])]));
    const obj = typeof item === 'object' && item !== null ? (item as Record<string, unknown>) : {};
    return Object.fromEntries(features.map((f) => [f, numericValue(obj[f])]));
  };
  if (typeof input === 'string') {
    return input.split('\n').filter((l) => l.trim() !== '').map((l) => toInstance(l.split(',')));
  }
  const list = Array.isArray(input) ? input : (input as any)?.instances;
  if (!Array.isArray(list)) return [];
  // A bare array of numbers is one instance in features order.
  if (Array.isArray(input) && list.every((v) => typeof v === 'number')) return [toInstance(list)];
  return list.map(toInstance);
}

/** Compares the captured instances with the baseline. */
export function driftReport(baseline: DriftBaseline, instances: readonly Instance[], features: readonly string[], minInstances: number): DriftReport {
  const perFeature: Record<string, { psi?: number; missingRate: number }> = {};
  let driftScore: number | undefined;
  let driftiestFeature: string | undefined;
  let missingFeatureRate = 0;
  for (const feature of features) {
    const base = baseline.features[feature];
    if (!base) throw new Error(`drift: the baseline of ${baseline.modelPackageArn} has no feature '${feature}'`);
    const present = instances.map((i) => i[feature]).filter((v): v is number => v !== undefined);
    const missingRate = instances.length === 0 ? 0 : 1 - present.length / instances.length;
    missingFeatureRate = Math.max(missingFeatureRate, missingRate);
    let psi: number | undefined;
    if (instances.length >= minInstances && present.length > 0) {
      psi = populationStabilityIndex(base.shares, binShares(present, base.edges));
      if (driftScore === undefined || psi > driftScore) {
        driftScore = psi;
        driftiestFeature = feature;
      }
    }
    perFeature[feature] = { psi, missingRate };
  }
  return { instances: instances.length, driftScore, driftiestFeature, missingFeatureRate, features: perFeature };
}
