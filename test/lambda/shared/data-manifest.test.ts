import { createHash } from 'crypto';
import {
  currentVersions,
  DataVersionError,
  ManifestHasher,
  manifestKey,
  manifestLine,
  metadataValue,
  ObjectVersionLike,
  PART_SIZE,
  PartBuffer,
  unquoteEtag,
} from '../../../lambda/shared/data-manifest';

const sha256 = (text: string | Buffer) => createHash('sha256').update(text).digest('hex');
const bytes = (text: string) => Buffer.from(text, 'utf8');

function version(key: string, versionId: string, extra: Partial<ObjectVersionLike> = {}): ObjectVersionLike {
  return { Key: key, VersionId: versionId, ETag: `"etag-${versionId}"`, Size: 10, IsLatest: true, ...extra };
}

describe('currentVersions', () => {
  test('keeps only the latest version of each key, in the order given', () => {
    // GIVEN a page with an older version between current ones
    const page = [version('a.csv', 'a2'), version('a.csv', 'a1', { IsLatest: false }), version('b.csv', 'b1')];

    // WHEN
    const entries = currentVersions(page, 'data-versions/');

    // THEN
    expect(entries).toEqual([
      { key: 'a.csv', versionId: 'a2', etag: 'etag-a2', size: 10 },
      { key: 'b.csv', versionId: 'b1', etag: 'etag-b1', size: 10 },
    ]);
  });

  test('drops a key whose only versions are not latest (its latest is a delete marker)', () => {
    // GIVEN a key deleted after two writes: both its versions are non-latest, the marker is elsewhere
    const page = [version('gone.csv', 'g2', { IsLatest: false }), version('gone.csv', 'g1', { IsLatest: false })];

    // WHEN / THEN
    expect(currentVersions(page, 'data-versions/')).toEqual([]);
  });

  test('treats a missing IsLatest as not latest and skips a version without a key', () => {
    expect(currentVersions([version('x', 'x1', { IsLatest: undefined }), { VersionId: 'v', IsLatest: true }], 'm/')).toEqual([]);
  });

  test('skips keys under the manifest prefix', () => {
    // GIVEN a whole-bucket page that holds an earlier manifest
    const page = [version('data-versions/abc.jsonl', 'm1'), version('data.csv', 'd1'), version('data-versions-old/x', 'o1')];

    // WHEN
    const keys = currentVersions(page, 'data-versions/').map((e) => e.key);

    // THEN only the manifest itself drops out
    expect(keys).toEqual(['data.csv', 'data-versions-old/x']);
  });

  test('skips zero-byte "directory" keys but keeps a non-empty key ending in a slash and empty files', () => {
    // GIVEN
    const page = [
      version('raw/', 'd1', { Size: 0 }),
      version('raw/odd/', 'd2', { Size: 3 }),
      version('raw/empty.csv', 'e1', { Size: 0 }),
    ];

    // WHEN
    const keys = currentVersions(page, 'data-versions/').map((e) => e.key);

    // THEN
    expect(keys).toEqual(['raw/odd/', 'raw/empty.csv']);
  });

  test("records objects written before versioning was enabled with S3's 'null' version id", () => {
    expect(currentVersions([version('old.csv', 'null')], 'm/')[0].versionId).toBe('null');
    expect(currentVersions([{ Key: 'k', IsLatest: true, Size: 1 }], 'm/')[0]).toEqual({ key: 'k', versionId: 'null', etag: '', size: 1 });
  });
});

describe('unquoteEtag', () => {
  test('removes the surrounding quotes only', () => {
    expect(unquoteEtag('"d41d8cd98f00b204e9800998ecf8427e"')).toBe('d41d8cd98f00b204e9800998ecf8427e');
    expect(unquoteEtag('"0a1b-12"')).toBe('0a1b-12');
    expect(unquoteEtag('bare')).toBe('bare');
  });
});

describe('manifestLine', () => {
  test('is one JSON object with key, versionId, etag and size in that order, and a newline', () => {
    // WHEN
    const line = manifestLine({ size: 123, etag: 'abc', versionId: 'v1', key: 'raw/a.csv' });

    // THEN
    expect(line).toBe('{"key":"raw/a.csv","versionId":"v1","etag":"abc","size":123}\n');
  });

  test('escapes what JSON must escape, so a key with a quote or newline stays one line', () => {
    const line = manifestLine({ key: 'we"ird\nkey é', versionId: 'v', etag: 'e', size: 0 });

    expect(line.split('\n')).toHaveLength(2);
    expect(JSON.parse(line)).toEqual({ key: 'we"ird\nkey é', versionId: 'v', etag: 'e', size: 0 });
  });
});

describe('ManifestHasher', () => {
  const entries = [
    { key: 'a', versionId: 'v1', etag: 'e1', size: 5 },
    { key: 'b', versionId: 'v2', etag: 'e2', size: 7 },
  ];

  test('digest is the lowercase hex SHA-256 of the concatenated lines; it counts objects and bytes', () => {
    // GIVEN
    const hasher = new ManifestHasher();

    // WHEN
    const lines = entries.map((e) => hasher.add(e));

    // THEN
    const manifest = entries.map(manifestLine).join('');
    expect(Buffer.concat(lines).toString('utf8')).toBe(manifest);
    expect(hasher.digest()).toBe(sha256(manifest));
    expect(hasher.digest()).toMatch(/^[0-9a-f]{64}$/);
    expect(hasher.objectCount).toBe(2);
    expect(hasher.totalBytes).toBe(12);
    expect(hasher.manifestBytes).toBe(Buffer.byteLength(manifest));
  });

  test('gives the same id for the same entries and another for a changed version', () => {
    const id = (list: typeof entries) => {
      const hasher = new ManifestHasher();
      list.forEach((e) => hasher.add(e));
      return hasher.digest();
    };

    expect(id(entries)).toBe(id(entries));
    expect(id([entries[0], { ...entries[1], versionId: 'v3' }])).not.toBe(id(entries));
  });

  test('returns the same digest twice and refuses entries after it', () => {
    const hasher = new ManifestHasher();
    hasher.add(entries[0]);
    const first = hasher.digest();

    expect(hasher.digest()).toBe(first);
    expect(() => hasher.add(entries[1])).toThrow(/after digest/);
  });
});

describe('PartBuffer', () => {
  test('cuts parts of exactly the part size and keeps the rest for flush', () => {
    // GIVEN
    const buffer = new PartBuffer(4);

    // WHEN
    const fromFirst = buffer.append(bytes('abc'));
    const fromSecond = buffer.append(bytes('defghij'));
    const last = buffer.flush();

    // THEN
    expect(fromFirst).toEqual([]);
    expect(fromSecond.map((p) => p.toString())).toEqual(['abcd', 'efgh']);
    expect(last?.toString()).toBe('ij');
    expect(buffer.flush()).toBeUndefined();
    expect(buffer.bufferedBytes).toBe(0);
  });

  test('returns several parts for a chunk larger than a part, and none is changed by later appends', () => {
    const buffer = new PartBuffer(2);

    const parts = buffer.append(bytes('12345'));
    buffer.append(bytes('6789'));

    expect(parts.map((p) => p.toString())).toEqual(['12', '34']);
    expect(buffer.bufferedBytes).toBe(1);
  });

  test('splits multi-byte characters across parts without losing bytes', () => {
    // GIVEN text whose UTF-8 bytes do not line up with the part size
    const text = 'ééé€€😀'.repeat(5);
    const buffer = new PartBuffer(3);

    // WHEN
    const parts = buffer.append(bytes(text));
    const last = buffer.flush();

    // THEN
    const all = Buffer.concat([...parts, ...(last ? [last] : [])]);
    expect(all.toString('utf8')).toBe(text);
    expect(parts.every((p) => p.length === 3)).toBe(true);
  });

  test('flush of an exact multiple returns nothing more', () => {
    const buffer = new PartBuffer(3);

    expect(buffer.append(bytes('abcdef'))).toHaveLength(2);
    expect(buffer.flush()).toBeUndefined();
  });

  test('defaults to 8 MiB parts and rejects a part size that is not a positive integer', () => {
    expect(new PartBuffer().partSize).toBe(8 * 1024 * 1024);
    expect(PART_SIZE).toBe(8 * 1024 * 1024);
    expect(() => new PartBuffer(0)).toThrow(RangeError);
    expect(() => new PartBuffer(1.5)).toThrow(/positive integer/);
  });
});

describe('manifestKey', () => {
  test('is <manifest prefix><id>.jsonl', () => {
    expect(manifestKey('data-versions/', 'ab12')).toBe('data-versions/ab12.jsonl');
  });
});

describe('metadataValue', () => {
  test('keeps printable ASCII and percent-encodes the rest reversibly', () => {
    expect(metadataValue('fraud/train/2024 v1')).toBe('fraud/train/2024 v1');
    expect(metadataValue('données/100%/')).toBe('donn%C3%A9es/100%25/');
    expect(decodeURIComponent(metadataValue('données/100%/\n😀'))).toBe('données/100%/\n😀');
  });

  test('does not throw on a lone surrogate', () => {
    expect(metadataValue('a\ud800b')).toBe('a%EF%BF%BDb');
  });
});

describe('DataVersionError', () => {
  test('carries the name a Step Functions Catch matches', () => {
    const error = new DataVersionError('EmptyDataPrefix', 'nothing to version');

    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('EmptyDataPrefix');
    expect(error.message).toBe('nothing to version');
  });
});
