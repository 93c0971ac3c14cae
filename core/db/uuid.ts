/** The one UUID check (any version, case-insensitive): ids that reach a `uuid` column pass it first, so a malformed one is 404 or 422, never a SQL error. */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

export const isUuid = (value: string): boolean => UUID.test(value)
