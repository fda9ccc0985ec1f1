import { cloneElement, useId, type ReactElement, type ReactNode } from 'react';

/** A labelled form control: the label, an optional hint (described-by), and the control itself. */
export function Field({ label, hint, children, className }: { label: ReactNode; hint?: ReactNode; children: ReactElement<Record<string, unknown>>; className?: string }) {
  const id = useId();
  const hintId = `${id}-hint`;
  return (
    <div className={`field ${className ?? ''}`}>
      <label htmlFor={id}>{label}</label>
      {cloneElement(children, { id, 'aria-describedby': hint ? hintId : undefined })}
      {hint && <p className="hint" id={hintId}>{hint}</p>}
    </div>
  );
}

/** KEY=VALUE lines ⇄ a record (blank lines and # comments ignored). */
export function parseVars(text: string): { vars: Record<string, string>; bad: string[] } {
  const vars: Record<string, string> = {};
  const bad: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const i = line.indexOf('=');
    if (i <= 0) bad.push(line);
    else vars[line.slice(0, i).trim()] = line.slice(i + 1);
  }
  return { vars, bad };
}

/** A record as KEY=VALUE lines. */
export const formatVars = (vars: Record<string, string>): string =>
  Object.entries(vars).map(([k, v]) => `${k}=${v}`).join('\n');
