import { Credentials } from '../schemas.ts';
import { requireUser, type ApiDeps, type TypedApi } from '../context.ts';

/** GET /credentials and POST /credentials/rotate: the caller's BuildGrid (registry) credentials. */
export function registerCredentialRoutes(app: TypedApi, deps: ApiDeps): void {
  app.get('/credentials', { config: { access: 'signedIn' }, schema: { response: { 200: Credentials } } }, async (req) => {
    const c = await deps.people.registryCredentials(requireUser(req).id);
    return { registry: deps.registryHost, ...c };
  });
  app.post('/credentials/rotate', { config: { access: 'signedIn' }, schema: { response: { 200: Credentials } } }, async (req) => {
    const c = await deps.people.rotateRegistryPassword(requireUser(req).id);
    return { registry: deps.registryHost, ...c };
  });
}
