/** AppError: the one error type services throw; core/errors/handler.ts turns it into a response. */
import { ERROR_CODES, type ErrorCode } from './codes.ts'

export type ErrorDetails = Record<string, unknown>

export class AppError extends Error {
  readonly errorCode: ErrorCode
  readonly status: number
  readonly details: ErrorDetails
  /** Extra response headers (Retry-After, WWW-Authenticate ...). */
  readonly headers: Record<string, string>

  constructor(code: ErrorCode, message?: string, details: ErrorDetails = {}, headers: Record<string, string> = {}) {
    super(message ?? ERROR_CODES[code].message)
    this.name = 'AppError'
    // docs/performance-notes.md#elysia-replaces-an-errors-code: Elysia replaces `code` in onError when the error has a `code` field, so the
    // catalogue code lives in `errorCode` and the handler tests with instanceof.
    this.errorCode = code
    this.status = ERROR_CODES[code].status
    this.details = details
    this.headers = headers
  }
}

export const badRequest = (message: string, details?: ErrorDetails) => new AppError('BAD_REQUEST', message, details)

export const unauthenticated = (message = 'Missing or invalid token', details?: ErrorDetails) =>
  new AppError('AUTHENTICATION_ERROR', message, details, { 'WWW-Authenticate': 'Bearer' })

export const forbidden = (message = 'Access denied', details?: ErrorDetails) =>
  new AppError('AUTHORIZATION_ERROR', message, details)

/** docs/errors.md#not_found: someone else's resource is reported exactly like a missing one. */
export const notFound = (resource: string, id?: string | number) =>
  new AppError('NOT_FOUND', `${resource} not found`, id === undefined ? { resource } : { resource, id: String(id) })

export const conflict = (message: string, details?: ErrorDetails) => new AppError('CONFLICT', message, details)

/** 422 with the first failing field (docs/errors.md#validation_error: details.field and details.errors). */
export const validation = (field: string, message: string) =>
  new AppError('VALIDATION_ERROR', message, { field, errors: [{ field, message }] })

export const payloadTooLarge = (limit: number) =>
  new AppError('PAYLOAD_TOO_LARGE', `Request body exceeds ${limit} bytes`, { limit })

export const serviceUnavailable = (message: string, details?: ErrorDetails) =>
  new AppError('SERVICE_UNAVAILABLE', message, details)

export const externalServiceError = (message: string, details?: ErrorDetails) =>
  new AppError('EXTERNAL_SERVICE_ERROR', message, details)
