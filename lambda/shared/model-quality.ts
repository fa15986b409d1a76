/**
 * Pure logic of the model-quality monitor: the ground-truth labels a team writes, their join with the captured
 * predictions by inference id, and the accuracy and AUC of the joined pairs. No SDK calls here.
 *
 * Labels use SageMaker Model Monitor's ground-truth record, one JSON line per labelled request:
 * `{"groundTruthData": {"data": "1", "encoding": "CSV"}, "eventMetadata": {"eventId": "<id>"}, "eventVersion": "0"}`,
 * where the id is the InferenceId the caller gave to InvokeEndpoint or, without one, the eventId SageMaker captured.
 * A label is 0 or 1 (binary classification); the prediction is the first of the response.
 */
import { CaptureRecord } from './drift';

export interface GroundTruth {
  readonly id: string;
  readonly label: number;
}

/** A prediction and its true label. */
export interface LabelledPrediction {
  readonly label: number;
  readonly predictedLabel: number;
  /** The predicted probability of class 1, when the response has one. */
  readonly probability?: number;
}

export interface QualityReport {
  readonly labels: number;
  /** Labels joined with a captured prediction. */
  readonly joined: number;
  readonly accuracy?: number;
  /** Undefined when the joined labels hold only one class. */
  readonly auc?: number;
}

/** Reads a labels file; lines without an id or a 0/1 label are skipped (and counted by the caller). */
export function parseGroundTruth(text: string): GroundTruth[] {
  const out: GroundTruth[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    let record: any;
    try {
      record = JSON.parse(line);
    } catch {
      continue;
    }
    const id = record?.eventMetadata?.inferenceId ?? record?.eventMetadata?.eventId;
    const label = labelValue(record?.groundTruthData);
    if (typeof id === 'string' && id !== '' && label !== undefined) out.push({ id, label });
  }
  return out;
}

function labelValue(data: any): number | undefined {
  if (data === undefined || data === null) return undefined;
  let value: unknown = data.data;
  if (String(data.encoding ?? '').toUpperCase() === 'JSON' && typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch {
      return undefined;
    }
  }
  if (typeof value === 'object' && value !== null) value = (value as any).label;
  const n = typeof value === 'string' ? Number(value.trim()) : value;
  return n === 0 || n === 1 ? n : undefined;
}

/**
 * The first prediction of a response: `{"predictions": [{"probability": p, "label": l}]}` (the starter's serving
 * contract), a bare number (a probability, label at 0.5) or CSV text whose first value is a probability.
 */
export function predictionOf(output: unknown): { predictedLabel: number; probability?: number } | undefined {
  const first = (output as any)?.predictions?.[0] ?? (Array.isArray(output) ? output[0] : output);
  if (typeof first === 'object' && first !== null) {
    const probability = typeof first.probability === 'number' ? first.probability : undefined;
    const label = first.label === 0 || first.label === 1 ? first.label : probability !== undefined ? (probability >= 0.5 ? 1 : 0) : undefined;
    return label === undefined ? undefined : { predictedLabel: label, probability };
  }
  const p = typeof first === 'number' ? first : typeof first === 'string' ? Number(first.split(/[,\n]/)[0]) : NaN;
  return Number.isFinite(p) && p >= 0 && p <= 1 ? { predictedLabel: p >= 0.5 ? 1 : 0, probability: p } : undefined;
}

/** Joins labels with captured predictions: by the capture's inferenceId when it has one, else by its eventId. */
export function joinLabels(labels: readonly GroundTruth[], captures: readonly CaptureRecord[]): LabelledPrediction[] {
  const byId = new Map<string, CaptureRecord>();
  for (const c of captures) byId.set(c.inferenceId ?? c.eventId, c);
  const out: LabelledPrediction[] = [];
  for (const l of labels) {
    const capture = byId.get(l.id);
    const prediction = capture ? predictionOf(capture.output) : undefined;
    if (prediction) out.push({ label: l.label, ...prediction });
  }
  return out;
}

/** The share of predictions whose label is the true one. */
export function accuracy(pairs: readonly LabelledPrediction[]): number | undefined {
  if (pairs.length === 0) return undefined;
  return pairs.filter((p) => p.predictedLabel === p.label).length / pairs.length;
}

/**
 * The area under the ROC curve: the probability that a random positive scores above a random negative (ties count
 * half), from the ranks of the probabilities (Mann-Whitney U). Undefined without both classes or without probabilities.
 */
export function auc(pairs: readonly LabelledPrediction[]): number | undefined {
  const scored = pairs.filter((p): p is LabelledPrediction & { probability: number } => p.probability !== undefined);
  const positives = scored.filter((p) => p.label === 1).length;
  const negatives = scored.length - positives;
  if (positives === 0 || negatives === 0) return undefined;
  const sorted = [...scored].sort((a, b) => a.probability - b.probability);
  let rankSum = 0;
  for (let i = 0; i < sorted.length;) {
    let j = i;
    while (j < sorted.length && sorted[j].probability === sorted[i].probability) j++;
    const averageRank = (i + 1 + j) / 2;
    for (let k = i; k < j; k++) if (sorted[k].label === 1) rankSum += averageRank;
    i = j;
  }
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

export function qualityReport(labels: readonly GroundTruth[], captures: readonly CaptureRecord[]): QualityReport {
  const pairs = joinLabels(labels, captures);
  return { labels: labels.length, joined: pairs.length, accuracy: accuracy(pairs), auc: auc(pairs) };
}

/**
 * The capture folders that may hold the predictions a labels file names. Labels of the requests captured in hour H
 * go under `<labels prefix><variant>/yyyy/mm/dd/hh/` (the capture's own layout); their captures are in that hour's
 * folder or, for a request near the hour's end written with the next batch, the next hour's.
 */
export function captureFoldersFor(labelsKey: string, labelsPrefix: string, capturePrefix: string): string[] | undefined {
  if (!labelsKey.startsWith(labelsPrefix)) return undefined;
  const match = /^([^/]+)\/(\d{4})\/(\d{2})\/(\d{2})\/(\d{2})\//.exec(labelsKey.slice(labelsPrefix.length));
  if (!match) return undefined;
  const [, variant, y, m, d, h] = match;
  const hour = Date.UTC(Number(y), Number(m) - 1, Number(d), Number(h));
  if (Number.isNaN(hour)) return undefined;
  return [hour, hour + 3600_000].map((t) => {
    const date = new Date(t);
    const pad = (n: number) => String(n).padStart(2, '0');
    return `${capturePrefix}${variant}/${date.getUTCFullYear()}/${pad(date.getUTCMonth() + 1)}/${pad(date.getUTCDate())}/${pad(date.getUTCHours())}/`;
  });
}
