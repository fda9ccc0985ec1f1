import type { Compilable, CompiledQuery } from 'kysely';

/**
 * Compiles a query once and returns a function that re-binds its parameters, for the registry's hot-path point
 * lookups (tags.get, manifests.get, repositories.get, repositories.hasBlob). Building and compiling a Kysely query
 * costs ~3 µs, about as much as the SQLite lookup itself plus Kysely's execution; at ~10k registry requests/s with
 * a few lookups each that is a tenth of a core, so these queries skip it. The SQL text is the dialect's own
 * (`?` for SQLite, `$1` for PostgreSQL), so this works unchanged on every backend.
 *
 * Build `query` with one placeholder value per parameter, in the order they appear in the SQL (for a chain of
 * `.where()` calls, the call order). Throws at construction when the compiled query has another parameter count.
 */
export function compileOnce<R>(query: Compilable<R>, arity: number): (...params: unknown[]) => CompiledQuery<R> {
  const compiled = query.compile();
  if (compiled.parameters.length !== arity) {
    throw new Error(`compileOnce: expected ${arity} parameters, the query has ${compiled.parameters.length}: ${compiled.sql}`);
  }
  return (...parameters) => ({ ...compiled, parameters });
}
