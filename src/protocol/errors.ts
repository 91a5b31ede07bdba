/**
 * A MogileFS error: `code` is the wire error code stock clients switch on
 * (unreg_domain, key_exists, ...); `message` is the human text sent after it.
 */
export class MogError extends Error {
  readonly code: string;
  constructor(code: string, message?: string) {
    super(message ?? code);
    this.code = code;
    this.name = 'MogError';
  }
}

export function isMogError(e: unknown, code?: string): e is MogError {
  return e instanceof MogError && (code === undefined || e.code === code);
}
