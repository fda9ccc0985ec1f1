import { useEffect, useRef, useState } from 'react';
import type { UsageReport } from '../api/types';
import { listRuns, startFsck, startGc, storeUsage } from '../api/lifecycle';
import { useSession } from '../lib/session';
import { useLoad } from '../lib/useLoad';
import { ConfirmButton } from '../components/Dialog';
import { ErrorBox, Loading, Notice } from '../components/Feedback';
import { PageHead } from '../components/PageHead';
import { AdminNav } from '../components/SubNav';
import { Bytes } from '../components/storage/Bytes';
import { RunsTable, runTitle } from '../components/storage/Runs';
import { UsageTable } from '../components/storage/Usage';

/**
 * Administrators: the whole store (on disk, referenced, in trash, collectable), starting a garbage collection (dry or
 * real) or fsck (check or repair), the history of runs with what they freed, and usage per account. The history is
 * polled while a run is going.
 */
export function AdminStoragePage() {
  const s = useSession();
  const runs = useLoad(() => (s.me.isAdmin ? listRuns() : Promise.resolve([])), 'runs');
  const usage = useLoad(() => (s.me.isAdmin ? storeUsage() : Promise.resolve(null)), 'usage');
  const [error, setError] = useState<unknown>();
  const [started, setStarted] = useState<string | null>(null);
  const running = runs.data?.some((r) => r.status === 'running') ?? false;

  const wasRunning = useRef(false);
  useEffect(() => {
    if (wasRunning.current && !running) void usage.reload(); // a run ended: the figures may have changed
    wasRunning.current = running;
    if (!running) return;
    const t = setInterval(() => void runs.reload(), 1000);
    return () => clearInterval(t);
  }, [running, runs.reload, usage.reload]);

  if (!s.me.isAdmin) {
    return <section><h1>Storage administration</h1><ErrorBox error={new Error('Only BuildGrid administrators can collect garbage and check the store.')} title="Not allowed" /></section>;
  }
  const start = async (what: () => Promise<{ kind: 'gc' | 'fsck' | 'retention'; dryRun: boolean }>) => {
    setError(undefined);
    setStarted(null);
    try {
      const r = await what();
      setStarted(`${runTitle(r)} started. It runs online, in the background; the history below follows it.`);
      await runs.reload();
    } catch (err) {
      setError(err);
    }
  };

  return (
    <section>
      <PageHead crumbs="Administration" title="Storage administration" />
      <AdminNav />

      <section className="card block" aria-labelledby="store-h">
        <h2 id="store-h">The store</h2>
        {usage.loading && <Loading what="the store's figures" />}
        {usage.error !== undefined && <ErrorBox error={usage.error} retry={usage.reload} />}
        {usage.data?.store && <StoreFacts store={usage.data.store} />}
        <div className="actions actions-start">
          <button type="button" className="btn" disabled={running} onClick={() => void start(() => startGc(true))}>GC dry run</button>
          <ConfirmButton label="Collect garbage" title="Collect garbage now?" confirmLabel="Collect garbage" danger disabled={running} onConfirm={() => start(() => startGc(false))}>
            <p>Applies every retention policy, then deletes blobs nothing references (older than the safety fence). Pulls and builds go on meanwhile. Removed images stay restorable for their grace period.</p>
          </ConfirmButton>
          <button type="button" className="btn" disabled={running} onClick={() => void start(() => startFsck(false))}>Check store (fsck)</button>
          <ConfirmButton label="Repair store" title="Check and repair the store?" confirmLabel="Check and repair" danger disabled={running} onConfirm={() => start(() => startFsck(true))}>
            <p>Re-hashes every blob and checks every manifest, tag and link. Corrupt blobs are quarantined, broken images go to the trash, dangling tags and links are deleted.</p>
          </ConfirmButton>
          {running && <span className="hint" role="status">A run is in progress…</span>}
        </div>
        {error !== undefined && <ErrorBox error={error} title="The run did not start" />}
        {started && <Notice>{started}</Notice>}
      </section>

      <section className="card block" aria-labelledby="runs-h">
        <h2 id="runs-h">History</h2>
        {runs.loading && <Loading what="the history" />}
        {runs.error !== undefined && <ErrorBox error={runs.error} retry={runs.reload} />}
        {runs.data && <RunsTable runs={runs.data} />}
      </section>

      {usage.data && (
        <section className="card block" aria-labelledby="accounts-h">
          <h2 id="accounts-h">Usage per account</h2>
          <UsageTable rows={usage.data.accounts} label="Storage per account" what="Account" />
        </section>
      )}
    </section>
  );
}

function StoreFacts({ store }: { store: NonNullable<UsageReport['store']> }) {
  return (
    <dl className="usage" aria-label="The whole store">
      <div><dt>On disk</dt><dd data-testid="store-bytes"><Bytes n={store.bytes} /></dd><p className="hint">{store.blobs} blobs</p></div>
      <div><dt>Referenced</dt><dd data-testid="store-referenced"><Bytes n={store.referencedBytes} /></dd><p className="hint">used by images</p></div>
      <div><dt>In trash</dt><dd data-testid="store-trash"><Bytes n={store.trashBytes} /></dd><p className="hint">held by restorable images</p></div>
      <div><dt>Collectable</dt><dd data-testid="store-unreferenced"><Bytes n={store.unreferencedBytes} /></dd><p className="hint">nothing references it</p></div>
    </dl>
  );
}
