import { useState, type FormEvent } from 'react';
import { addEndpoint, NOTIFICATION_EVENTS } from '../../api/notifications';
import type { CreatedNotificationEndpoint, NotificationEventName } from '../../api/types';
import { CodeBlock, CopyField } from '../Copy';
import { ErrorBox } from '../Feedback';
import { Field } from '../Form';
import { useAction } from '../../lib/useAction';

/** The form that adds a notification endpoint (URL, events, description, optional own secret); `onAdded` gets the answer with its secret. */
export function EndpointForm({ ns, onAdded }: { ns: string; onAdded: (e: CreatedNotificationEndpoint) => void }) {
  const [url, setUrl] = useState('');
  const [events, setEvents] = useState<NotificationEventName[]>([...NOTIFICATION_EVENTS]);
  const [description, setDescription] = useState('');
  const [secret, setSecret] = useState('');
  const { busy, error, setError, run } = useAction();

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (events.length === 0) return setError(new Error('Choose at least one event: an endpoint with none would never be called.'));
    if (secret && (secret.length < 16 || secret.length > 256)) return setError(new Error('A signing secret needs 16 to 256 characters; leave it empty to have one generated.'));
    await run(async () => {
      const created = await addEndpoint(ns, {
        url: url.trim(), events, ...(description.trim() ? { description: description.trim() } : {}), ...(secret ? { secret } : {}),
      });
      setUrl('');
      setDescription('');
      setSecret('');
      setEvents([...NOTIFICATION_EVENTS]);
      onAdded(created);
    });
  };

  return (
    <form className="form subcard" onSubmit={submit} aria-label="Add a notification endpoint" noValidate>
      <h3>Add an endpoint</h3>
      {error !== undefined && <ErrorBox error={error} title="The endpoint was not added" />}
      <div className="grid2">
        <Field label="Endpoint URL" hint="Any http:// or https:// URL; BuildGrid POSTs signed JSON to it.">
          <input type="url" required maxLength={2048} value={url} onChange={(e) => setUrl(e.target.value)} placeholder="https://ci.example.com/buildgrid" />
        </Field>
        <Field label="Description" hint="Optional: who reads these notifications.">
          <input maxLength={200} value={description} onChange={(e) => setDescription(e.target.value)} placeholder="chat bot" />
        </Field>
      </div>
      <fieldset className="fieldset">
        <legend>Events</legend>
        <div className="checks">
          {NOTIFICATION_EVENTS.map((ev) => (
            <label key={ev} className="check mono small">
              <input type="checkbox" checked={events.includes(ev)} onChange={(e) => setEvents(e.target.checked ? NOTIFICATION_EVENTS.filter((x) => x === ev || events.includes(x)) : events.filter((x) => x !== ev))} />
              {ev}
            </label>
          ))}
        </div>
      </fieldset>
      <Field label="Signing secret (optional)" hint="16 to 256 characters. Leave empty and BuildGrid generates one, shown once after adding.">
        <input type="password" autoComplete="new-password" maxLength={256} value={secret} onChange={(e) => setSecret(e.target.value)} />
      </Field>
      <div className="actions actions-start"><button type="submit" className="btn btn-primary" disabled={busy}>{busy ? 'Adding…' : 'Add endpoint'}</button></div>
    </form>
  );
}

const VERIFY = `// Node: verify before trusting a notification (rawBody: the request body as received, a Buffer)
const { createHmac, timingSafeEqual } = require('node:crypto');
const expected = Buffer.from('sha256=' + createHmac('sha256', SECRET).update(rawBody).digest('hex'));
const got = Buffer.from(req.headers['x-buildgrid-signature-256'] ?? '');
const ok = got.length === expected.length && timingSafeEqual(got, expected);`;

/** The endpoint just added, with its signing secret (shown only now) and how receivers check the signature. */
export function AddedEndpoint({ e, onDone }: { e: CreatedNotificationEndpoint; onDone: () => void }) {
  return (
    <div className="subcard created" role="status" aria-label="Endpoint added">
      <h3>Endpoint added</h3>
      <p><strong>Copy the signing secret now: it is shown only once.</strong> Every POST to <code>{e.url}</code> carries <code>X-BuildGrid-Signature-256: sha256=&lt;hex HMAC-SHA256 of the raw body&gt;</code> keyed with it.</p>
      <div className="copyfields">
        <CopyField label="Signing secret" value={e.secret} testId="endpoint-secret" />
      </div>
      <CodeBlock label="Checking the signature" code={VERIFY} />
      <div className="actions actions-start"><button type="button" className="btn" onClick={onDone}>I have saved it</button></div>
    </div>
  );
}
