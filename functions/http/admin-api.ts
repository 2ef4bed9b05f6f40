// What the runtimes and the app know of the admin routes without loading them: their paths, their
// options, and whether they are on. The routes themselves (admin-routes.ts, their handlers and
// validation schemas) load on the first admin request, so a cold start that only checks triplets
// does not read them.

import type { Logger } from '../../policy/logger.ts';
import type { ExplainDeps } from '../allow/explain.ts';
import type { PolicyConfig } from '../core/policy-config.ts';
import type { StoreAdmin } from '../store/store-admin.ts';

export const ADMIN_PATHS = ['/v1/explain', '/v1/allow', '/v1/pending', '/v1/release'] as const;

export interface AdminApiOptions {
  /** SHA-256 hex digests of the admin tokens; the routes are mounted only when there is one. */
  adminTokenSha256: readonly string[];
  /** The check tokens' digests, to answer 403 rather than 401 to a check token. */
  checkTokenSha256: readonly string[];
  admin: StoreAdmin;
  /** What explain needs: the decision service's dependencies. */
  explainDeps: ExplainDeps;
  policy: PolicyConfig;
  hashKey?: (clear: string) => string;
  clock: () => number;
  /** Told after a change, so this instance's copy of the allow entries refreshes at once. */
  changed?: () => void;
  logger: Logger;
}

/**
 * The admin options a runtime passes to createApp, or undefined (routes off) without admin tokens
 * or on a store without an administration side.
 */
export function adminApiFor(
  store: { admin?(): StoreAdmin },
  adminTokenSha256: readonly string[],
  deps: ExplainDeps,
  allowEntries?: { refresh(): Promise<void> },
): Omit<AdminApiOptions, 'checkTokenSha256' | 'logger'> | undefined {
  if (adminTokenSha256.length === 0 || store.admin === undefined) return undefined;
  return {
    adminTokenSha256,
    admin: store.admin(),
    explainDeps: deps,
    policy: deps.config,
    ...(deps.hashKey ? { hashKey: deps.hashKey } : {}),
    clock: deps.clock,
    ...(allowEntries ? { changed: () => void allowEntries.refresh() } : {}),
  };
}
