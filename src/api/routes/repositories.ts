import { z } from 'zod';
import { NamespaceParams, Repository } from '../schemas.ts';
import { requireUser, type ApiDeps, type TypedApi } from '../context.ts';
import { accountFor } from '../access.ts';

/** GET /accounts/:namespace/repositories: the account's image repositories with their tags. */
export function registerRepositoryRoutes(app: TypedApi, deps: ApiDeps): void {
  app.get('/accounts/:namespace/repositories', { config: { access: { account: 'viewer' } }, schema: { params: NamespaceParams, response: { 200: z.array(Repository) } } }, async (req) => {
    const { account } = await accountFor(deps.metadata, requireUser(req), req.params.namespace, 'viewer');
    const names = await deps.metadata.repositories.list({ limit: 1000, namespaces: [account.namespace] });
    return Promise.all(names.map(async (name) => {
      const repo = (await deps.metadata.repositories.get(name))!;
      const tags = await deps.metadata.tags.list(repo.id, { limit: 1000 });
      return { name, image: `${deps.registryHost}/${name}`, tags };
    }));
  });
}
