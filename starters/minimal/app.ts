/** Minimal starter: the core alone (health, metrics, OpenAPI, auth, versioning). */
import { createApp } from '../../core/index.ts'

export const plugins = []

export const createMinimalApp = () => createApp({ plugins })
