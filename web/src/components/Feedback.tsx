import type { ReactNode } from 'react';
import { ApiError, messageOf } from '../api/client';

/** An error the reader can act on, with a retry when there is one. */
export function ErrorBox({ error, retry, title }: { error: unknown; retry?: () => void; title?: string }) {
  const code = error instanceof ApiError ? error.code : null;
  return (
    <div className="notice notice-bad" role="alert">
      <strong>{title ?? (code === 'denied' ? 'Not allowed' : code === 'not_found' ? 'Not found' : 'Something went wrong')}</strong>
      <p>{messageOf(error)}</p>
      {retry && <button type="button" className="btn btn-small" onClick={retry}>Try again</button>}
    </div>
  );
}

/** A loading placeholder that says what is loading. */
export function Loading({ what }: { what: string }) {
  return (
    <p className="loading" role="status" aria-live="polite">
      <span className="spinner" aria-hidden="true" /> Loading {what}…
    </p>
  );
}

/** An empty state: what is missing and what to do next. */
export function Empty({ title, children, action }: { title: string; children?: ReactNode; action?: ReactNode }) {
  return (
    <div className="empty">
      <p className="empty-title">{title}</p>
      {children && <div className="empty-body">{children}</div>}
      {action && <div className="empty-action">{action}</div>}
    </div>
  );
}

/** A short success or information message. */
export function Notice({ tone = 'ok', children }: { tone?: 'ok' | 'info' | 'warn'; children: ReactNode }) {
  return <div className={`notice notice-${tone}`} role="status">{children}</div>;
}
