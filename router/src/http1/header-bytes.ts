// Byte classes of HTTP/1.1 heads (RFC 9110 §5.1, §5.5), as lookup tables so
// that a head is checked in one pass over its characters.

export const CR = 13;
export const LF = 10;
export const SP = 32;
export const HT = 9;
export const COLON = 58;

/** Headers of one connection, not of the message (RFC 9110 §7.6.1): never passed on, either way. */
export const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade'];

/** tchar: what a header name (and a method) is made of. */
export const TOKEN_BYTE = new Uint8Array(256);
/** A header value's bytes as this router accepts them from clients: visible ASCII, space and tab. */
export const VALUE_BYTE = new Uint8Array(256);
/** A request target's bytes: visible ASCII. */
export const TARGET_BYTE = new Uint8Array(256);
/** A header value's bytes as RFC 9110 allows them (obs-text included): what an engine may send. */
export const FIELD_VALUE_BYTE = new Uint8Array(256);

for (const c of "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") TOKEN_BYTE[c.charCodeAt(0)] = 1;
for (let b = 0x21; b <= 0x7e; b++) {
  VALUE_BYTE[b] = 1;
  TARGET_BYTE[b] = 1;
}
VALUE_BYTE[SP] = 1;
VALUE_BYTE[HT] = 1;
FIELD_VALUE_BYTE.set(VALUE_BYTE);
FIELD_VALUE_BYTE.fill(1, 0x80);

/** A Content-Length value this router accepts: digits only, at most 15 (below 2^53). */
export const CONTENT_LENGTH = /^\d{1,15}$/;
