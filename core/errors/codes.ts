/** The error catalogue (docs/errors.md#the-catalogue): code -> HTTP status and default message. */
export const ERROR_CODES = {
  BAD_REQUEST: { status: 400, message: 'Invalid request' },
  AUTHENTICATION_ERROR: { status: 401, message: 'Authentication failed' },
  AUTHORIZATION_ERROR: { status: 403, message: 'Access denied' },
  NOT_FOUND: { status: 404, message: 'Resource not found' },
  METHOD_NOT_ALLOWED: { status: 405, message: 'Method not allowed' },
  CONFLICT: { status: 409, message: 'Resource conflict' },
  PAYLOAD_TOO_LARGE: { status: 413, message: 'Request body too large' },
  /** The request URL (path and query) is longer than MAX_URL_BYTES. */
  URI_TOO_LONG: { status: 414, message: 'Request URL too long' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, message: 'Unsupported media type' },
  /** A plain HTTP request to a WebSocket route (RFC 9110 §15.5.22): answered with `Upgrade: websocket`. */
  UPGRADE_REQUIRED: { status: 426, message: 'Upgrade required' },
  VALIDATION_ERROR: { status: 422, message: 'Validation failed' },
  RATE_LIMIT_EXCEEDED: { status: 429, message: 'Rate limit exceeded' },
  /** The request's headers together are larger than MAX_HEADER_BYTES. */
  HEADERS_TOO_LARGE: { status: 431, message: 'Request headers too large' },
  INTERNAL_ERROR: { status: 500, message: 'Internal server error' },
  EXTERNAL_SERVICE_ERROR: { status: 502, message: 'External service failed' },
  SERVICE_UNAVAILABLE: { status: 503, message: 'Service unavailable' },
} as const

export type ErrorCode = keyof typeof ERROR_CODES
