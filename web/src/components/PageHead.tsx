import type { ReactNode } from 'react';

/** A page's heading row: breadcrumbs above the h1 (which also names the browser tab), and actions on the right. */
export function PageHead({ crumbs, title, children }: { crumbs: ReactNode; title: ReactNode; children?: ReactNode }) {
  return (
    <div className="pagehead">
      <div>
        <p className="crumbs">{crumbs}</p>
        <h1>{title}</h1>
      </div>
      {children}
    </div>
  );
}
