import type { ServerResponse } from 'node:http';

/**
 * The Content-Security-Policy of every answer. The dashboard is one HTML shell that loads its script and stylesheet
 * from /assets (Vite emits no inline script or style: test/web/headers.test.ts checks the build), React sets styles
 * through the CSSOM (which style-src does not govern), and it talks to its own origin only. So: nothing inline, nothing
 * from elsewhere, no plugins, no <base>, forms post to this origin, and no page may frame it (clickjacking).
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self'", "font-src 'self'", "connect-src 'self'",
  "object-src 'none'", "base-uri 'none'", "form-action 'self'", "frame-ancestors 'none'",
].join('; ');

/**
 * The security headers of every answer of the main port: dashboard pages, /api/v1, /hooks, /metrics and the /v2
 * registry alike (headers only; bodies are never touched). HSTS only when the public URL is https, without
 * includeSubDomains (the operator's other hosts are not ours to pin).
 */
export function securityHeaders(opts: { https: boolean }): ReadonlyArray<readonly [string, string]> {
  const h: Array<readonly [string, string]> = [
    ['Content-Security-Policy', CONTENT_SECURITY_POLICY],
    ['X-Content-Type-Options', 'nosniff'],
    ['X-Frame-Options', 'DENY'],
    ['Referrer-Policy', 'no-referrer'],
    ['Cross-Origin-Opener-Policy', 'same-origin'],
    ['Cross-Origin-Resource-Policy', 'same-origin'],
  ];
  if (opts.https) h.push(['Strict-Transport-Security', 'max-age=31536000']);
  return h;
}

/** Puts `headers` on `res` before any handler runs (Fastify's and the registry's own headers are merged with them). */
export function applyHeaders(res: ServerResponse, headers: ReadonlyArray<readonly [string, string]>): void {
  for (const [k, v] of headers) res.setHeader(k, v);
}
