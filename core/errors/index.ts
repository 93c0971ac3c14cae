/** Error catalogue, AppError helpers and the single error-to-response mapping. */
export { ERROR_CODES, type ErrorCode } from './codes.ts'
export * from './app-error.ts'
export { errorBody, errorResponse, toErrorView, type ErrorView } from './handler.ts'
