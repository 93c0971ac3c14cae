/**
 * Stage `request size`: a URL longer than MAX_URL_BYTES is 414, headers larger than
 * MAX_HEADER_BYTES together are 431, answered in the contract's shape with the usual headers
 * (docs/security.md#the-edge). The runtime's own limit (Bun's --max-http-header-size) is set
 * above these, so the server answers such requests itself instead of the runtime's bare 431.
 */
import { AppError } from '../../errors/index.ts'
import type { Exchange } from '../../http/index.ts'

export interface RequestSizeLimits {
  maxUrlBytes: number
  maxHeaderBytes: number
}

export function requestSizeStage(limits: RequestSizeLimits) {
  return function requestSize(x: Exchange): void {
    const url = x.request.url
    if (url.length > limits.maxUrlBytes) {
      throw new AppError('URI_TOO_LONG', `The request URL is longer than ${limits.maxUrlBytes} bytes`, {
        max_bytes: limits.maxUrlBytes,
      })
    }
    let size = 0
    // One pass over the names and values; a typical request has about ten headers.
    x.request.headers.forEach((value, name) => {
      size += name.length + value.length + 4
    })
    if (size > limits.maxHeaderBytes) {
      throw new AppError(
        'HEADERS_TOO_LARGE',
        `The request headers are larger than ${limits.maxHeaderBytes} bytes together`,
        {
          max_bytes: limits.maxHeaderBytes,
        },
      )
    }
  }
}
