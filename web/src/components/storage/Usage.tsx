import type { UsageRow } from '../../api/types';
import { Empty } from '../Feedback';
import { Bytes } from './Bytes';

/** One usage row as four figures: unique, shared, total, in trash. */
export function UsageFacts({ row, label }: { row: UsageRow; label: string }) {
  return (
    <dl className="usage" aria-label={label} data-usage={row.name}>
      <div><dt>Unique</dt><dd data-testid="usage-unique"><Bytes n={row.uniqueBytes} /></dd><p className="hint">only here: freed if all of it went</p></div>
      <div><dt>Shared</dt><dd data-testid="usage-shared"><Bytes n={row.sharedBytes} /></dd><p className="hint">layers also used elsewhere</p></div>
      <div><dt>Total</dt><dd data-testid="usage-total"><Bytes n={row.totalBytes} /></dd><p className="hint">{row.manifests} manifest{row.manifests === 1 ? '' : 's'}, {row.blobs} blob{row.blobs === 1 ? '' : 's'}</p></div>
      <div><dt>In trash</dt><dd data-testid="usage-trash"><Bytes n={row.trashBytes} /></dd><p className="hint">held only by restorable images</p></div>
    </dl>
  );
}

/** Usage rows (applications, repositories or accounts) as a table; `nameOf` shortens a row's name. */
export function UsageTable({ rows, label, what, nameOf }: { rows: UsageRow[]; label: string; what: string; nameOf?: (r: UsageRow) => string }) {
  if (rows.length === 0) return <Empty title={`No ${what.toLowerCase()}s with images yet`} />;
  return (
    <div className="tablewrap">
      <table className="table" aria-label={label}>
        <thead>
          <tr><th scope="col">{what}</th><th scope="col">Unique</th><th scope="col">Shared</th><th scope="col">Total</th><th scope="col">In trash</th><th scope="col">Manifests</th></tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={`${r.kind}:${r.name}`} data-usage={r.name}>
              <th scope="row" data-label={what} className="mono">{nameOf ? nameOf(r) : r.name}</th>
              <td data-label="Unique" data-testid="usage-unique"><Bytes n={r.uniqueBytes} /></td>
              <td data-label="Shared" data-testid="usage-shared"><Bytes n={r.sharedBytes} /></td>
              <td data-label="Total" data-testid="usage-total"><Bytes n={r.totalBytes} /></td>
              <td data-label="In trash" data-testid="usage-trash"><Bytes n={r.trashBytes} /></td>
              <td data-label="Manifests">{r.manifests}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
