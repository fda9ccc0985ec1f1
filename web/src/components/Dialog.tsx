import { useEffect, useId, useRef, useState, type ReactNode } from 'react';

/**
 * A modal dialog on the native <dialog> element: focus moves in and is kept there, Escape closes it, focus returns
 * to what opened it.
 */
export function Dialog({ open, onClose, title, children, wide }: { open: boolean; onClose: () => void; title: string; children: ReactNode; wide?: boolean }) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (open && !d.open) d.showModal();
    if (!open && d.open) d.close();
  }, [open]);
  return (
    <dialog ref={ref} className={`dialog${wide ? ' dialog-wide' : ''}`} onClose={onClose} aria-labelledby={titleId}>
      <header className="dialog-head">
        <h2 id={titleId}>{title}</h2>
        <button type="button" className="btn btn-quiet btn-small" onClick={onClose} aria-label="Close">✕</button>
      </header>
      {open && <div className="dialog-body">{children}</div>}
    </dialog>
  );
}

/** A button that asks for confirmation in a dialog before running `onConfirm`. */
export function ConfirmButton(props: {
  label: string; title: string; children: ReactNode; confirmLabel: string; onConfirm: () => Promise<void> | void;
  danger?: boolean; small?: boolean; disabled?: boolean; ariaLabel?: string;
}) {
  const [open, setOpen] = useState(false);
  const [busy, setBusy] = useState(false);
  const cls = `btn${props.small ? ' btn-small' : ''}${props.danger ? ' btn-danger-quiet' : ''}`;
  return (
    <>
      <button type="button" className={cls} disabled={props.disabled} aria-label={props.ariaLabel} onClick={() => setOpen(true)}>{props.label}</button>
      <Dialog open={open} onClose={() => setOpen(false)} title={props.title}>
        <div className="dialog-text">{props.children}</div>
        <div className="actions">
          <button type="button" className="btn" onClick={() => setOpen(false)}>Keep as is</button>
          <button
            type="button" className={`btn ${props.danger ? 'btn-danger' : 'btn-primary'}`} disabled={busy}
            onClick={async () => {
              setBusy(true);
              try {
                await props.onConfirm();
              } finally {
                setBusy(false);
                setOpen(false);
              }
            }}
          >
            {busy ? 'Working…' : props.confirmLabel}
          </button>
        </div>
      </Dialog>
    </>
  );
}
