/** Error catalogue, AppError helpers and the single error-to-response mapping. */
export { ERROR_CODES, type ErrorCode } from './codes.ts'
export * from './app-error.ts'
export { toErrorView, errorResponse, type ErrorView } from './handler.ts'
