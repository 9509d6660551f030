// Error classes of the store; callers branch on `instanceof` or `code`, never on message text.

/** Base of every store error: carries a stable `code` the API and CLI map to a status. */
export abstract class StoreError extends Error {
  abstract readonly code: string;
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = this.constructor.name;
  }
}

/**
 * The journal could not be written or synced (ENOSPC, EIO, closed). The store is fail-stop from
 * then on: retrying an fsync after a failure is unsafe on Linux (the kernel may have dropped the
 * dirty pages), so the only recovery is to reopen from disk.
 */
export class StoreUnavailableError extends StoreError {
  readonly code = 'STORE_UNAVAILABLE';
}

/** A journal record in the middle of the journal is damaged: refuse to guess. */
export class JournalCorruptError extends StoreError {
  readonly code = 'JOURNAL_CORRUPT';
  constructor(
    readonly file: string,
    readonly offset: number,
    reason: string,
  ) {
    super(`journal ${file} is corrupt at byte ${offset}: ${reason}`);
  }
}

/** The files on disk cannot be combined into a state (no usable snapshot, journal gap, replay failure). */
export class StoreCorruptError extends StoreError {
  readonly code = 'STORE_CORRUPT';
}

/**
 * The store on disk was written by a newer Colony (a higher store format than this build knows):
 * it is refused as it is, never misread, and nothing on disk is changed.
 */
export class StoreTooNewError extends StoreError {
  readonly code = 'STORE_TOO_NEW';
  constructor(
    readonly dir: string,
    readonly found: number,
    readonly known: number,
    where: string,
  ) {
    super(
      `the store in ${dir} was written by a newer Colony (${where} has store format ${found}; this Colony reads formats up to ${known}): run that newer Colony, or restore a backup of this data directory made for this version. Nothing was changed.`,
    );
  }
}

export class BadSha256Error extends StoreError {
  readonly code = 'BAD_SHA256';
}

export class BlobHashMismatchError extends StoreError {
  readonly code = 'BLOB_HASH_MISMATCH';
}

export class BlobTooLargeError extends StoreError {
  readonly code = 'BLOB_TOO_LARGE';
}
