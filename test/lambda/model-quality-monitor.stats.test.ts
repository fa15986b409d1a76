import { parseCaptureFile } from '../../lambda/shared/drift';
import { accuracy, auc, captureFoldersFor, joinLabels, parseGroundTruth, predictionOf, qualityReport } from '../../lambda/shared/model-quality';
import { CAPTURE_RECORD_CSV, GROUND_TRUTH_RECORD } from '../fixtures/aws/sagemaker-data-capture';

/** A documented ground-truth line for this id and label. */
function label(id: string, value: string, encoding = 'CSV'): string {
  return JSON.stringify({ ...GROUND_TRUTH_RECORD.value, groundTruthData: { data: value, encoding }, eventMetadata: { eventId: id } });
}

/** A documented capture line with this response and ids. */
function capture(eventId: string, output: unknown, inferenceId?: string): string {
  const r = CAPTURE_RECORD_CSV.value;
  return JSON.stringify({
    ...r,
    captureData: { ...r.captureData, endpointOutput: { observedContentType: 'application/json', mode: 'OUTPUT', data: JSON.stringify(output), encoding: 'JSON' } },
    eventMetadata: { ...r.eventMetadata, eventId, ...(inferenceId ? { inferenceId } : {}) },
  });
}

describe('model quality', () => {
  test('reads the documented ground-truth record; skips lines without an id or a 0/1 label', () => {
    expect(parseGroundTruth(JSON.stringify(GROUND_TRUTH_RECORD.value))).toEqual([{ id: 'aaaa-bbbb-cccc', label: 1 }]);
    expect(parseGroundTruth([label('a', '0'), label('b', '{"label": 1}', 'JSON'), label('c', 'yes'), label('', '1'), 'junk'].join('\n')))
      .toEqual([{ id: 'a', label: 0 }, { id: 'b', label: 1 }]);
  });

  test('the first prediction of the starter\'s response, a bare probability, or CSV', () => {
    expect(predictionOf({ predictions: [{ probability: 0.7, label: 1 }, { probability: 0.1, label: 0 }] }))
      .toEqual({ predictedLabel: 1, probability: 0.7 });
    expect(predictionOf({ predictions: [{ probability: 0.2 }] })).toEqual({ predictedLabel: 0, probability: 0.2 });
    expect(predictionOf(CAPTURE_RECORD_CSV.value.captureData.endpointOutput.data)).toEqual({ predictedLabel: 0, probability: 0.0254181120544672 });
    expect(predictionOf({ nothing: true })).toBeUndefined();
    expect(predictionOf('7')).toBeUndefined();
  });

  test('joins by the caller\'s inference id when the capture has one, else by the event id', () => {
    const captures = parseCaptureFile([
      capture('e-1', { predictions: [{ probability: 0.9, label: 1 }] }, 'order-1'),
      capture('e-2', { predictions: [{ probability: 0.2, label: 0 }] }),
    ].join('\n'));
    const pairs = joinLabels([{ id: 'order-1', label: 1 }, { id: 'e-2', label: 1 }, { id: 'e-1', label: 0 }, { id: 'unknown', label: 0 }], captures);
    // 'e-1' has an inference id: it is joined by 'order-1' only.
    expect(pairs).toEqual([{ label: 1, predictedLabel: 1, probability: 0.9 }, { label: 1, predictedLabel: 0, probability: 0.2 }]);
  });

  test('accuracy and AUC: worked examples, ties count half, one class has no AUC', () => {
    const pairs = [
      { label: 1, predictedLabel: 1, probability: 0.9 },
      { label: 0, predictedLabel: 1, probability: 0.6 },
      { label: 1, predictedLabel: 0, probability: 0.4 },
      { label: 0, predictedLabel: 0, probability: 0.1 },
    ];
    expect(accuracy(pairs)).toBe(0.5);
    // Positive/negative pairs: (0.9>0.6) (0.9>0.1) (0.4<0.6) (0.4>0.1): 3 of 4.
    expect(auc(pairs)).toBe(0.75);
    expect(auc([{ label: 1, predictedLabel: 1, probability: 0.5 }, { label: 0, predictedLabel: 1, probability: 0.5 }])).toBe(0.5);
    expect(auc(pairs.filter((p) => p.label === 1))).toBeUndefined();
    expect(accuracy([])).toBeUndefined();
    expect(qualityReport([], [])).toEqual({ labels: 0, joined: 0, accuracy: undefined, auc: undefined });
  });

  test('the capture folders of a labels file: its hour and the next (across a day boundary too)', () => {
    expect(captureFoldersFor('labels/fraud/AllTraffic/2026/12/31/23/batch.jsonl', 'labels/fraud/', 'data-capture/fraud/')).toEqual([
      'data-capture/fraud/AllTraffic/2026/12/31/23/',
      'data-capture/fraud/AllTraffic/2027/01/01/00/',
    ]);
    expect(captureFoldersFor('labels/fraud/batch.jsonl', 'labels/fraud/', 'data-capture/fraud/')).toBeUndefined();
    expect(captureFoldersFor('other/fraud/AllTraffic/2026/12/31/23/x', 'labels/fraud/', 'data-capture/fraud/')).toBeUndefined();
  });
});
