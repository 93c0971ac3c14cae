/** Error catalogue and AppError helpers. */
export { ERROR_CODES, type ErrorCode } from './codes.ts'
export * from './app-error.ts'
