/**
 * The headers every page of the studio is served with, in both shells: the browser-mode server's static files and
 * the Electron window's responses.
 */

/** Only our own scripts, styles and the WebSocket back home; the user's media through fss-file:. */
export const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob: fss-file:; media-src 'self' blob: fss-file:; connect-src 'self' fss-file:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

export const securityHeaders = {
  'Content-Security-Policy': CSP,
  'X-Content-Type-Options': 'nosniff',
} as const;
