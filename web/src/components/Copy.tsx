import { useEffect, useState } from 'react';

async function copyText(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    // No clipboard permission (or an insecure origin): the old way still works from a click.
    const ta = document.createElement('textarea');
    ta.value = text;
    ta.setAttribute('readonly', '');
    ta.style.position = 'fixed';
    ta.style.opacity = '0';
    document.body.appendChild(ta);
    ta.select();
    const ok = document.execCommand('copy');
    ta.remove();
    return ok;
  }
}

/** A button that copies `text`; says "Copied" for a moment (announced to screen readers). */
export function CopyButton({ text, label = 'Copy', what }: { text: string; label?: string; what?: string }) {
  const [state, setState] = useState<'idle' | 'done' | 'failed'>('idle');
  useEffect(() => {
    if (state === 'idle') return;
    const t = setTimeout(() => setState('idle'), 2000);
    return () => clearTimeout(t);
  }, [state]);
  return (
    <button
      type="button" className="btn btn-small btn-quiet copy" data-copy={text}
      aria-label={what ? `Copy ${what}` : label}
      onClick={async () => setState((await copyText(text)) ? 'done' : 'failed')}
    >
      <svg viewBox="0 0 16 16" width="14" height="14" aria-hidden="true">
        <path d="M5.5 5.5h7v8h-7zM3.5 10.5v-8h7" fill="none" stroke="currentColor" strokeWidth="1.5" strokeLinejoin="round" />
      </svg>
      <span aria-live="polite">{state === 'done' ? 'Copied' : state === 'failed' ? 'Copy failed' : label}</span>
    </button>
  );
}

/** A value in monospace with a copy button; a secret one is masked until revealed. */
export function CopyField({ label, value, secret, testId }: { label: string; value: string; secret?: boolean; testId?: string }) {
  const [shown, setShown] = useState(!secret);
  return (
    <div className="copyfield">
      <span className="copyfield-label">{label}</span>
      <code className="copyfield-value" data-testid={testId} data-value={shown ? value : undefined}>
        {shown ? value : '•'.repeat(Math.min(24, value.length))}
      </code>
      <span className="copyfield-actions">
        {secret && (
          <button type="button" className="btn btn-small btn-quiet" aria-pressed={shown} onClick={() => setShown(!shown)}>
            {shown ? 'Hide' : 'Reveal'}
          </button>
        )}
        <CopyButton text={value} what={label.toLowerCase()} />
      </span>
    </div>
  );
}

/** A block of commands or YAML with a copy button. */
export function CodeBlock({ code, label }: { code: string; label: string }) {
  return (
    <figure className="codeblock">
      <figcaption>
        <span>{label}</span>
        <CopyButton text={code} what={label.toLowerCase()} />
      </figcaption>
      <pre tabIndex={0}><code>{code}</code></pre>
    </figure>
  );
}
