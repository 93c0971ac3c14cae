/**
 * The public CSAT form (docs/plugins/tickets.md#csat): GET /public/csat/{token} serves a small HTML
 * form, POST answers it once, as JSON or as a browser form post. The pages load nothing from
 * anywhere: one inline style allowed by its hash, forms posted to the page itself.
 */
import { createHash } from 'node:crypto'
import { conflict, notFound, t, type PublicRouteContext } from '../../core/index.ts'
import type { CsatLookup, CsatSurvey } from './csat-survey.ts'

const STYLE =
  'body{font:16px/1.5 system-ui,sans-serif;margin:0;color:#1a1a1a;background:#f6f6f6}' +
  'main{max-width:32rem;margin:2rem auto;padding:1.5rem;background:#fff;border-radius:8px}' +
  'fieldset{border:0;padding:0;margin:0 0 1rem}legend{font-weight:600;margin-bottom:.5rem}' +
  'label{display:block;margin:.25rem 0}textarea{width:100%;box-sizing:border-box;font:inherit}' +
  'button{margin-top:1rem;padding:.5rem 1.25rem;font:inherit;border:0;border-radius:4px;background:#1a56db;color:#fff}' +
  'button:focus,input:focus,textarea:focus{outline:3px solid #f59e0b;outline-offset:2px}'

/** Nothing but this page's own style and forms posted to itself. */
export const CSAT_CSP = [
  "default-src 'none'",
  `style-src 'sha256-${createHash('sha256').update(STYLE).digest('base64')}'`,
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ')

const HTML_TYPE = 'text/html; charset=utf-8'
export const COMMENT_MAX = 2000

function htmlPage(status: number, title: string, body: string): Response {
  const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${title}</title>
<style>${STYLE}</style>
</head>
<body>
<main>
<h1>${title}</h1>
${body}
</main>
</body>
</html>
`
  return new Response(html, {
    status,
    headers: { 'content-type': HTML_TYPE, 'content-security-policy': CSAT_CSP, 'cache-control': 'no-store' },
  })
}

const formPage = (number: number) =>
  htmlPage(
    200,
    'How did we do?',
    `<p>Ticket #${number} is closed. Please tell us how it went.</p>
<form method="post">
<fieldset>
<legend>Were you satisfied with the help you received?</legend>
<label><input type="radio" name="score" value="good" required> Yes, it was good</label>
<label><input type="radio" name="score" value="bad"> No, it was bad</label>
</fieldset>
<label for="comment">Anything you would like to add? (optional)</label>
<textarea id="comment" name="comment" rows="4" maxlength="${COMMENT_MAX}"></textarea>
<button type="submit">Send</button>
</form>`,
  )

const thanksPage = () => htmlPage(200, 'Thank you', '<p>Your answer has been recorded.</p>')

/** 404 and 409: an HTML page for a browser, else the contract's JSON error. */
function refuse(found: CsatLookup, html: boolean): Response {
  const answered = found.state === 'answered'
  if (html)
    return answered
      ? htmlPage(409, 'Already answered', '<p>This survey has already been answered. Thank you!</p>')
      : htmlPage(404, 'Survey not found', '<p>This survey link is not valid, or it is no longer open.</p>')
  throw answered ? conflict('This survey has already been answered', { resource: 'csat' }) : notFound('CSAT survey')
}

/** A browser opening the link asks for text/html; API clients (and curl's `*\/*`) get JSON errors. */
const acceptsHtml = (request: Request) => (request.headers.get('accept') ?? '').includes('text/html')
/** A browser form post (the form above) is answered with pages; a JSON post with JSON. */
const isFormPost = (request: Request) =>
  (request.headers.get('content-type') ?? '').toLowerCase().startsWith('application/x-www-form-urlencoded')

const html = (description: string) => ({
  description,
  content: { 'text/html': { schema: { type: 'string' as const } } },
})
const refusals = {
  404: html('Unknown token (or its ticket was deleted or reopened): JSON error, or an HTML page for a browser'),
  409: html('Already answered: JSON error, or an HTML page for a browser'),
}
const params = t.Object({ token: t.String({ description: 'The token of csat.url' }) })

export const csatRoutes = ({ router }: PublicRouteContext, survey: CsatSurvey) =>
  router('/csat')
    .get(
      '/:token',
      async ({ params, request }) => {
        const found = await survey.find(params.token)
        return found.state === 'open' ? formPage(found.number) : refuse(found, acceptsHtml(request))
      },
      {
        params,
        detail: {
          summary: 'The CSAT form of a closed ticket (HTML)',
          description:
            'A small self-contained HTML form (no external assets; its Content-Security-Policy allows only itself). ' +
            'An unknown, voided or answered token is 404 / 409: an HTML page when the client accepts text/html, else the JSON error.',
          responses: { 200: html('The form'), ...refusals },
        },
      },
    )
    .post(
      '/:token',
      async ({ params, body, request }) => {
        const form = isFormPost(request)
        const r = await survey.answer(params.token, body)
        if (r.state === 'recorded') return form ? thanksPage() : { ok: true as const }
        return refuse(r, form)
      },
      {
        params,
        body: t.Object({
          score: t.Union([t.Literal('good'), t.Literal('bad')]),
          comment: t.Optional(
            t.Nullable(t.String({ maxLength: COMMENT_MAX, description: `At most ${COMMENT_MAX} characters` })),
          ),
        }),
        detail: {
          summary: 'Answer a CSAT survey (once)',
          description:
            'JSON, or `application/x-www-form-urlencoded` from the HTML form (answered with HTML pages). ' +
            'Once only: a second answer is 409. Rate limited per client IP (the default class).',
          responses: {
            200: {
              description: '`{ok: true}` for JSON; a thank-you page for a form post',
              content: {
                'application/json': { schema: t.Object({ ok: t.Literal(true) }) },
                'text/html': { schema: { type: 'string' as const } },
              },
            },
            ...refusals,
          },
        },
      },
    )
