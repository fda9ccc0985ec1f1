import type { ImageRow } from '../api/types';
import { bytes } from '../lib/time';
import { CopyButton } from './Copy';
import { Empty } from './Feedback';
import { PullRunButton } from './PullRun';
import { RelTime } from './Time';

/** Every image the application's builds produced (newest first). */
export function ImagesTable({ ns, rows }: { ns: string; rows: ImageRow[] }) {
  if (rows.length === 0) return <Empty title="No images yet"><p>Each successful build adds an image tagged with its commit hash.</p></Empty>;
  return (
    <div className="tablewrap">
      <table className="table">
        <thead>
          <tr><th scope="col">Service</th><th scope="col">Image</th><th scope="col">Branch</th><th scope="col">Size</th><th scope="col">Built</th><th scope="col"><span className="visually-hidden">Actions</span></th></tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={r.image}>
              <td data-label="Service">{r.service}</td>
              <td data-label="Image">
                <code className="mono break small">{r.image}</code>
                {r.digest && <div className="small muted mono" title={r.digest}>{r.digest.slice(0, 19)}…</div>}
              </td>
              <td data-label="Branch" className="mono">{r.branch}</td>
              <td data-label="Size">{bytes(r.size)}{r.layers !== null ? <span className="muted"> · {r.layers} layers</span> : null}</td>
              <td data-label="Built">{r.builtAt ? <RelTime iso={r.builtAt} /> : '—'}</td>
              <td className="nowrap"><CopyButton text={r.image} what="image URL" /> <PullRunButton image={r.image} digest={r.digest} ns={ns} /></td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
