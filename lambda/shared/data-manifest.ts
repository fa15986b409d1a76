/**
 * Pure logic of data versions on native S3 versioning: no SDK calls here, so it is tested without mocks.
 *
 * A data version is a manifest of the object versions under an S3 prefix, one JSON line per object in S3's key
 * order; the lowercase hex SHA-256 of the manifest's bytes is the data version id. No data is copied.
 */
import { createHash, Hash } from 'crypto';

/** Multipart part size of the manifest upload (S3: at least 5 MiB for every part but the last). */
export const PART_SIZE = 8 * 1024 * 1024;

/** Where manifests go in the data bucket when `MANIFEST_PREFIX` is not set. */
export const DEFAULT_MANIFEST_PREFIX = 'data-versions/';

/** The fields of a ListObjectVersions `Versions` entry this logic reads. */
export interface ObjectVersionLike {
  readonly Key?: string;
  readonly VersionId?: string;
  readonly ETag?: string;
  readonly Size?: number;
  readonly IsLatest?: boolean;
}

/** One line of a manifest. */
export interface ManifestEntry {
  readonly key: string;
  readonly versionId: string;
  readonly etag: string;
  readonly size: number;
}

/** What the `snapshot-data-version` handler returns. */
export interface DataVersion {
  /** Lowercase hex SHA-256 of the manifest. */
  readonly dataVersionId: string;
  /** `s3://<bucket>/<manifest prefix><dataVersionId>.jsonl` */
  readonly manifestUri: string;
  readonly bucket: string;
  readonly prefix: string;
  readonly objectCount: number;
  readonly totalBytes: number;
  /** False when the manifest already existed (same data, snapshot taken before): nothing was written. */
  readonly created: boolean;
}

export type DataVersionErrorName = 'InvalidSnapshotRequest' | 'DataBucketNotFound' | 'EmptyDataPrefix' | 'DataChangedDuringSnapshot';

/** Errors whose `name` a Step Functions `Catch` can match. */
export class DataVersionError extends Error {
  constructor(name: DataVersionErrorName, message: string) {
    super(message);
    this.name = name;
  }
}

/**
 * The current object versions of one ListObjectVersions page, in the page's (S3 key) order.
 *
 * Keeps `IsLatest === true` only, so older versions drop out; a key whose latest version is a delete marker has
 * no latest entry in `Versions` (its marker is in `DeleteMarkers`) and drops out too. Skips keys under the manifest
 * prefix, so that snapshots of the whole bucket do not include earlier manifests, and zero-byte "directory" keys.
 */
export function currentVersions(versions: readonly ObjectVersionLike[], manifestPrefix: string): ManifestEntry[] {
  const entries: ManifestEntry[] = [];
  for (const v of versions) {
    if (v.IsLatest !== true || v.Key === undefined) continue;
    if (manifestPrefix !== '' && v.Key.startsWith(manifestPrefix)) continue;
    const size = v.Size ?? 0;
    if (size === 0 && v.Key.endsWith('/')) continue;
    entries.push({ key: v.Key, versionId: v.VersionId ?? 'null', etag: unquoteEtag(v.ETag ?? ''), size });
  }
  return entries;
}

/** S3 returns ETags in double quotes; the manifest holds them without. */
export function unquoteEtag(etag: string): string {
  return etag.replace(/^"/, '').replace(/"$/, '');
}

/** `{"key":...,"versionId":...,"etag":...,"size":...}` and a newline: the fixed field order makes the id stable. */
export function manifestLine(entry: ManifestEntry): string {
  return JSON.stringify({ key: entry.key, versionId: entry.versionId, etag: entry.etag, size: entry.size }) + '\n';
}

/** Hashes manifest lines as they stream past and counts what they describe. */
export class ManifestHasher {
  private readonly hash: Hash = createHash('sha256');
  private digested: string | undefined;
  private objects = 0;
  private bytes = 0;
  private manifest = 0;

  /** Adds one entry; returns its manifest line as UTF-8 bytes, to be written on. */
  public add(entry: ManifestEntry): Buffer {
    if (this.digested !== undefined) throw new Error('ManifestHasher: add() after digest()');
    const line = Buffer.from(manifestLine(entry), 'utf8');
    this.hash.update(line);
    this.objects++;
    this.bytes += entry.size;
    this.manifest += line.length;
    return line;
  }

  /** Objects added so far. */
  public get objectCount(): number {
    return this.objects;
  }

  /** Sum of the sizes of the objects added so far. */
  public get totalBytes(): number {
    return this.bytes;
  }

  /** Bytes of manifest so far. */
  public get manifestBytes(): number {
    return this.manifest;
  }

  /** The data version id: lowercase hex SHA-256 of all lines added. Ends the hasher. */
  public digest(): string {
    if (this.digested === undefined) this.digested = this.hash.digest('hex');
    return this.digested;
  }
}

/**
 * Cuts a byte stream into parts of exactly `partSize` bytes; `flush()` returns the shorter rest. Holds at most one
 * part; a returned part is never written to again, so it can be uploaded while more bytes come in.
 */
export class PartBuffer {
  private part: Buffer | undefined;
  private filled = 0;

  constructor(public readonly partSize: number = PART_SIZE) {
    if (!Number.isInteger(partSize) || partSize < 1) {
      throw new RangeError(`PartBuffer: part size must be a positive integer, got ${partSize}`);
    }
  }

  /** Bytes held that are not part of a returned part yet. */
  public get bufferedBytes(): number {
    return this.filled;
  }

  /** Appends bytes; returns the parts they completed (none, one, or more for a chunk larger than a part). */
  public append(bytes: Uint8Array): Buffer[] {
    const full: Buffer[] = [];
    let offset = 0;
    while (offset < bytes.length) {
      if (this.part === undefined) this.part = Buffer.allocUnsafe(this.partSize);
      const n = Math.min(this.partSize - this.filled, bytes.length - offset);
      this.part.set(bytes.subarray(offset, offset + n), this.filled);
      this.filled += n;
      offset += n;
      if (this.filled === this.partSize) {
        full.push(this.part);
        this.part = undefined;
        this.filled = 0;
      }
    }
    return full;
  }

  /** The bytes held, as the last part; undefined when there are none. */
  public flush(): Buffer | undefined {
    if (this.part === undefined || this.filled === 0) return undefined;
    const last = this.part.subarray(0, this.filled);
    this.part = undefined;
    this.filled = 0;
    return last;
  }
}

/** `<manifest prefix><id>.jsonl` */
export function manifestKey(manifestPrefix: string, dataVersionId: string): string {
  return `${manifestPrefix}${dataVersionId}.jsonl`;
}

/**
 * A string as an S3 user metadata value: metadata travels in HTTP headers, so characters outside printable
 * ASCII (and `%`, to stay reversible) are percent-encoded as UTF-8. `decodeURIComponent` gives the original back.
 */
export function metadataValue(value: string): string {
  return value.replace(/[^\x20-\x24\x26-\x7e]/gu, (c) => (c.length === 1 && c >= '\ud800' && c <= '\udfff' ? '%EF%BF%BD' : encodeURIComponent(c)));
}
