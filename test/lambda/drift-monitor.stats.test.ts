import {
  binOf,
  binShares,
  computeBaseline,
  driftReport,
  featureBaseline,
  instancesOf,
  parseCaptureFile,
  parseCsv,
  populationStabilityIndex,
  quantileEdges,
} from '../../lambda/shared/drift';
import { CAPTURE_RECORD_CSV } from '../fixtures/aws/sagemaker-data-capture';

const FEATURES = ['age', 'income'];
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** A capture line of the documented shape with a JSON request body. */
function jsonCapture(body: unknown, eventId = 'e-1'): string {
  const record = CAPTURE_RECORD_CSV.value;
  return JSON.stringify({
    ...record,
    captureData: {
      ...record.captureData,
      endpointInput: { observedContentType: 'application/json', mode: 'INPUT', data: JSON.stringify(body), encoding: 'JSON' },
    },
    eventMetadata: { ...record.eventMetadata, eventId },
  });
}

describe('drift statistics', () => {
  test('CSV with a header, quoted fields and CRLF line ends', () => {
    expect(parseCsv('id,note,age\r\na-1,"x, ""y""",41\r\na-2,,7\r\n')).toEqual([
      { id: 'a-1', note: 'x, "y"', age: '41' },
      { id: 'a-2', note: '', age: '7' },
    ]);
  });

  test('quantile edges split 1..100 into ten bins of ten values each', () => {
    const values = range(1, 100);
    const edges = quantileEdges(values, 10);
    expect(edges).toEqual([11, 21, 31, 41, 51, 61, 71, 81, 91]);
    // Counted by hand: each bin [1,11), [11,21), ... [91,100] holds ten of the values.
    expect(binShares(values, edges)).toEqual(new Array(10).fill(0.1));
    expect(binOf(10.99, edges)).toBe(0);
    expect(binOf(11, edges)).toBe(1);
    expect(binOf(1000, edges)).toBe(9);
  });

  test('a feature with few distinct values gets fewer bins, not empty ones', () => {
    const flags = [0, 0, 0, 1, 1, 0, 0, 1, 0, 0];
    const baseline = featureBaseline(flags, 10);
    expect(baseline.edges).toEqual([1]);
    expect(baseline.shares).toEqual([0.7, 0.3]);
    expect(featureBaseline([5, 5, 5], 10).edges).toEqual([]);
  });

  test('PSI: 0 for the same distribution, the worked value for a known shift, finite for an empty bin', () => {
    expect(populationStabilityIndex([0.25, 0.25, 0.5], [0.25, 0.25, 0.5])).toBe(0);
    // 0.4 ln(0.9/0.5) + (-0.4) ln(0.1/0.5) = 0.4 x 0.5878 + 0.4 x 1.6094 = 0.8789
    expect(populationStabilityIndex([0.5, 0.5], [0.9, 0.1])).toBeCloseTo(0.8789, 4);
    const empty = populationStabilityIndex([0.5, 0.5], [1, 0]);
    expect(Number.isFinite(empty)).toBe(true);
    expect(empty).toBeGreaterThan(1);
    expect(() => populationStabilityIndex([1], [0.5, 0.5])).toThrow(/bins/);
  });

  test('a sample of the training distribution stays below 0.1; a shifted one goes above 0.25', () => {
    const rows = range(1, 1000).map((i) => ({ age: String(20 + (i % 50)), income: String(i) }));
    const baseline = computeBaseline(rows, FEATURES, 10, { modelPackageArn: 'arn:pkg/1', dataManifest: 's3://d/m.jsonl' });
    const same = range(1, 500).map((i) => ({ age: 20 + ((i * 7) % 50), income: (i * 2) % 1000 }));
    const shifted = range(1, 500).map((i) => ({ age: 60 + (i % 10), income: (i * 2) % 1000 }));
    const calm = driftReport(baseline, same, FEATURES, 100);
    const drifted = driftReport(baseline, shifted, FEATURES, 100);
    expect(calm.driftScore!).toBeLessThan(0.1);
    expect(drifted.driftScore!).toBeGreaterThan(0.25);
    expect(drifted.driftiestFeature).toBe('age');
    expect(drifted.features.income.psi!).toBeLessThan(0.1);
  });

  test('missing features are counted per feature; below the minimum instances no drift score is given', () => {
    const rows = range(1, 100).map((i) => ({ age: String(i), income: String(i) }));
    const baseline = computeBaseline(rows, FEATURES, 10, { modelPackageArn: 'arn:pkg/1', dataManifest: 's3://d/m.jsonl' });
    const instances = [{ age: 30, income: undefined }, { age: 40, income: 10 }, { age: undefined, income: undefined }, { age: 1, income: 2 }];
    const report = driftReport(baseline, instances, FEATURES, 100);
    expect(report.instances).toBe(4);
    expect(report.driftScore).toBeUndefined();
    expect(report.features.age.missingRate).toBe(0.25);
    expect(report.features.income.missingRate).toBe(0.5);
    expect(report.missingFeatureRate).toBe(0.5);
    expect(driftReport(baseline, instances, FEATURES, 2).driftScore).toBeDefined();
  });

  test('fails when a feature is never numeric in the training data, naming the columns', () => {
    expect(() => computeBaseline([{ age: 'x', group: 'b' }], ['age'], 10, { modelPackageArn: 'arn:pkg/1', dataManifest: 's3://d/m' }))
      .toThrow(/no numeric column 'age'.*age, group/);
    expect(() => quantileEdges([1, 2], 1)).toThrow(/at least 2/);
  });

  test('the documented capture record (CSV) and a JSON one decode; lines that are no capture records are skipped', () => {
    const text = [JSON.stringify(CAPTURE_RECORD_CSV.value), 'not json', '{"other": 1}',
      jsonCapture({ instances: [{ age: 41, income: 52 }] }, 'e-2'), ''].join('\n');
    const records = parseCaptureFile(text);
    expect(records.map((r) => r.eventId)).toEqual(['aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee', 'e-2']);
    expect(records[0].input).toBe('69,0,153.7,109,194.0,105,256.1,114,14.1,6');
    expect(records[0].inferenceTime).toBe('2019-11-22T08:24:40Z');
    expect(records[1].input).toEqual({ instances: [{ age: 41, income: 52 }] });
    const base64 = JSON.stringify({
      ...CAPTURE_RECORD_CSV.value,
      captureData: {
        endpointInput: {
          observedContentType: 'application/x-custom', mode: 'INPUT', data: Buffer.from('{"instances":[[1,2]]}').toString('base64'), encoding: 'BASE64',
        },
      },
    });
    expect(parseCaptureFile(base64)[0].input).toEqual({ instances: [[1, 2]] });
  });

  test('instances by name, by position, as CSV lines or a bare vector; non-numbers are missing', () => {
    expect(instancesOf({ instances: [{ age: 41, income: '52.5' }, { age: 'old' }] }, FEATURES))
      .toEqual([{ age: 41, income: 52.5 }, { age: undefined, income: undefined }]);
    expect(instancesOf({ instances: [[41, 52]] }, FEATURES)).toEqual([{ age: 41, income: 52 }]);
    expect(instancesOf('41,52\n30,x\n', FEATURES)).toEqual([{ age: 41, income: 52 }, { age: 30, income: undefined }]);
    expect(instancesOf([41, 52], FEATURES)).toEqual([{ age: 41, income: 52 }]);
    expect(instancesOf({ other: 1 }, FEATURES)).toEqual([]);
    expect(instancesOf(undefined, FEATURES)).toEqual([]);
  });
});
