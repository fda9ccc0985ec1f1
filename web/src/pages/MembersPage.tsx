import { useState } from 'react';
import { api, call } from '../api/client';
import type { Member, Role } from '../api/types';
import { useSession } from '../lib/session';
import { useLoad } from '../lib/useLoad';
import { ConfirmButton } from '../components/Dialog';
import { ErrorBox, Loading } from '../components/Feedback';
import { InviteMember } from '../components/InviteMember';

export const ROLES: Array<{ role: Role; what: string }> = [
  { role: 'owner', what: 'manages members and everything else' },
  { role: 'developer', what: 'creates applications, builds and deploys, manages pull tokens' },
  { role: 'viewer', what: 'looks and pulls' },
];

/** The account's members; owners add people, change roles and remove members. */
export function MembersPage({ ns }: { ns: string }) {
  const s = useSession();
  const account = s.accounts.find((a) => a.namespace === ns) ?? null;
  const isOwner = s.can(account, 'owner');
  const members = useLoad(() => call(api.GET('/api/v1/accounts/{namespace}/members', { params: { path: { namespace: ns } } })), ns);
  const [error, setError] = useState<unknown>();

  const setRole = async (m: Member, role: Role) => {
    setError(undefined);
    try {
      await call(api.PUT('/api/v1/accounts/{namespace}/members', { params: { path: { namespace: ns } }, body: { email: m.email, role } }));
      await members.reload();
      if (m.userId === s.me.id) await s.refresh();
    } catch (err) {
      setError(err);
    }
  };
  const remove = async (m: Member) => {
    setError(undefined);
    try {
      await call(api.DELETE('/api/v1/accounts/{namespace}/members/{userId}', { params: { path: { namespace: ns, userId: m.userId } } }));
      await members.reload();
      if (m.userId === s.me.id) await s.refresh();
    } catch (err) {
      setError(err);
    }
  };

  return (
    <section>
      <div className="pagehead">
        <div>
          <p className="crumbs">{account?.name ?? ns}</p>
          <h1>Members</h1>
        </div>
      </div>
      <p className="muted">
        {ROLES.map((r, i) => <span key={r.role}>{i > 0 && ' · '}<strong>{r.role}</strong> {r.what}</span>)}
      </p>
      {isOwner ? <InviteMember ns={ns} onAdded={() => void members.reload()} /> : <p>Only owners of {ns} can add people or change roles.</p>}
      {error !== undefined && <ErrorBox error={error} />}
      {members.loading && <Loading what="members" />}
      {members.error !== undefined && <ErrorBox error={members.error} retry={members.reload} />}
      {members.data && (
        <ul className="list" aria-label="Members">
          {members.data.map((m) => (
            <li key={m.userId} className="list-row" data-member={m.email}>
              <div className="list-main">
                <span className="list-title">{m.email}</span>
                {m.userId === s.me.id && <span className="muted small">you</span>}
              </div>
              <div className="list-side">
                {isOwner ? (
                  <>
                    <label className="visually-hidden" htmlFor={`role-${m.userId}`}>Role of {m.email}</label>
                    <select id={`role-${m.userId}`} value={m.role} onChange={(e) => void setRole(m, e.target.value as Role)}>
                      {ROLES.map((r) => <option key={r.role} value={r.role}>{r.role}</option>)}
                    </select>
                    <ConfirmButton label="Remove" ariaLabel={`Remove ${m.email}`} title={`Remove ${m.email}?`} confirmLabel="Remove member" danger small onConfirm={() => remove(m)}>
                      <p>{m.email} loses access to {ns}: its applications, builds and images. Their other accounts are not affected.</p>
                    </ConfirmButton>
                  </>
                ) : <span className="role">{m.role}</span>}
              </div>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
