/**
 * Limits of our extension commands that both sides must agree on: the
 * longest extended attribute name (Linux's XATTR_NAME_MAX) and value, in
 * bytes. A value travels base64url-encoded and must fit a 64 KiB request line.
 */
export const XATTR_NAME_MAX = 255;
export const XATTR_SIZE_MAX = 32768;
