import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { AppError } from '../core/errors.ts';
import { digestParts, type Digest } from '../core/digest.ts';

/** Options for a {@link DigestVerifier}. All are optional; with none it just hashes (sha256) and counts. */
export interface VerifyOptions {
  /**
   * A running hash to continue (updated in place; pass `hash.copy()` to keep the original). `null` disables hashing
   * (only bytes are counted). Default: a fresh hash of `algorithm`.
   */
  hash?: Hash | null;
  /** Algorithm of the fresh hash and of {@link DigestVerifier.digest}. Default: the expected digest's, else sha256. */
  algorithm?: 'sha256' | 'sha512';
  /** Bytes that came before this stream (an upload's current size); `maxBytes` and `expectedSize` count them too. */
  offset?: number;
  /** Fails with SIZE_INVALID as soon as offset + bytes passes this limit. */
  maxBytes?: number;
  /** At end of stream the digest must equal this, else DIGEST_INVALID. */
  expectedDigest?: Digest;
  /** At end of stream offset + bytes must equal this (and may never pass it), else SIZE_INVALID. */
  expectedSize?: number;
}

/**
 * A pass-through stream that hashes and counts what flows through it and fails the stream — before the bytes reach
 * the next stage — when a size limit is passed, and at the end when the digest or size is not the expected one.
 * Errors are AppError SIZE_INVALID or DIGEST_INVALID.
 */
export class DigestVerifier extends Transform {
  /** Bytes seen by this stream (not counting `offset`). */
  bytes = 0;
  readonly algorithm: 'sha256' | 'sha512';
  readonly #hash: Hash | null;
  readonly #opts: VerifyOptions;

  constructor(opts: VerifyOptions = {}) {
    super();
    this.#opts = opts;
    this.algorithm = opts.algorithm ?? (opts.expectedDigest ? digestParts(opts.expectedDigest).algorithm : 'sha256');
    this.#hash = opts.hash === undefined ? createHash(this.algorithm) : opts.hash;
  }

  /** The running hash (null when hashing is disabled). Valid for offset + bytes once the stream has ended. */
  get hash(): Hash | null {
    return this.#hash;
  }

  /** Digest of everything hashed so far. Finalizes a copy, so the stream may continue. Null without a hash. */
  digest(): Digest | null {
    return this.#hash ? (`${this.algorithm}:${this.#hash.copy().digest('hex')}` as Digest) : null;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    const total = (this.#opts.offset ?? 0) + this.bytes + chunk.length;
    const { maxBytes, expectedSize } = this.#opts;
    if (maxBytes !== undefined && total > maxBytes) {
      cb(new AppError('SIZE_INVALID', `content exceeds the size limit of ${maxBytes} bytes`));
      return;
    }
    if (expectedSize !== undefined && total > expectedSize) {
      cb(new AppError('SIZE_INVALID', `content is larger than the expected ${expectedSize} bytes`));
      return;
    }
    this.bytes += chunk.length;
    this.#hash?.update(chunk);
    cb(null, chunk);
  }

  override _flush(cb: TransformCallback): void {
    const total = (this.#opts.offset ?? 0) + this.bytes;
    const { expectedSize, expectedDigest } = this.#opts;
    if (expectedSize !== undefined && total !== expectedSize) {
      cb(new AppError('SIZE_INVALID', `content is ${total} bytes, expected ${expectedSize}`));
      return;
    }
    if (expectedDigest !== undefined) {
      const actual = this.digest();
      if (actual !== expectedDigest) {
        cb(new AppError('DIGEST_INVALID', `content digest ${actual ?? '(not hashed)'} does not match ${expectedDigest}`));
        return;
      }
    }
    cb();
  }
}
