/** `npm run doctor`: checks the configuration an app would start with (docs/deployment.md#doctor). */
export { runDoctor, type DoctorOptions, type DoctorReport } from './run.ts'
export { formatReport } from './report.ts'
