// Kept apart from postgres.ts so that naming a PostgreSQL URL does not load the pg driver.

/** `postgres://user@host:port/database` — the URL without its password (for messages and logs). */
export function describePostgresUrl(url: string): string {
  try {
    const u = new URL(url);
    const user = u.username ? `${decodeURIComponent(u.username)}@` : '';
    return `${u.protocol}//${user}${u.host}${u.pathname}`;
  } catch {
    return '(an unparsable URL)';
  }
}
