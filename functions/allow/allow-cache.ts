// Every instance's in-memory copy of the store's allow entries, so a decision never pays a round
// trip for them. The copy is refreshed by reading the store's allow version (one small read) and,
// when it moved, the entries:
//
// - every REFRESH_MS (10 s), started in the background by a decision or by serve's timer, so the
//   decision that notices the age does not wait for it;
// - before a decision, awaited, only when the copy is older than MAX_STALE_MS (25 s): a Lambda
//   container frozen between invocations runs no timer, and a change must be in force on every
//   instance within ALLOW_PROPAGATION_SECONDS (30 s, docs/admin.md) whatever happened meanwhile.
//
// A failed refresh keeps the copy it had (the entries do not vanish while the store hiccups) and
// is logged once per run of failures; the next one is tried REFRESH_MS later, so a store that is
// down costs at most one waiting decision per MAX_STALE_MS, not one per decision.

import { buildAllowMatcher, EMPTY_ALLOW_MATCHER, type AllowMatcher } from '../core/allow-entry.ts';
import type { ParseDomain } from '../core/client-identity.ts';
import type { StoreAdmin } from '../store/store-admin.ts';

export const REFRESH_MS = 10_000;
export const MAX_STALE_MS = 25_000;
/** What the documentation promises: a change is in force on every instance within this. */
export const ALLOW_PROPAGATION_SECONDS = 30;

export interface AllowCacheOptions {
  admin: StoreAdmin;
  /** Milliseconds since the epoch. */
  clock: () => number;
  /** The Public Suffix List, loaded only once an `org` entry exists. */
  loadParseDomain?: () => Promise<ParseDomain>;
  warn?: (message: string) => void;
  info?: (message: string) => void;
}

export interface AllowEntries {
  /** The matcher to use now; a promise only when the copy is too old to be used without a refresh. */
  current(): AllowMatcher | Promise<AllowMatcher>;
  /** Reads the version and, if it moved, the entries. Never rejects (a failure keeps the copy). */
  refresh(): Promise<void>;
  /** Resolves once no refresh is in flight (the Lambda waits for it before its container is frozen). */
  idle(): Promise<void>;
  /** serve: refreshes every REFRESH_MS from an unref'd timer, so an idle instance stays current. */
  start(): void;
  stop(): void;
}

export function createAllowCache(opts: AllowCacheOptions): AllowEntries {
  let matcher: AllowMatcher = EMPTY_ALLOW_MATCHER;
  let version = -1;
  /** When the last refresh attempt finished (ms); -Infinity before the first. */
  let checkedAt = Number.NEGATIVE_INFINITY;
  let inFlight: Promise<void> | null = null;
  let failing = false;
  let parseDomain: ParseDomain | undefined;
  let timer: NodeJS.Timeout | null = null;

  const load = async (): Promise<void> => {
    try {
      // The first load reads the entries at once (they carry their version): one read, not two.
      const seen = version === -1 ? null : await opts.admin.allowVersion();
      if (seen !== version) {
        const stored = await opts.admin.allowEntries();
        if (parseDomain === undefined && opts.loadParseDomain && stored.entries.some((e) => e.kind === 'org')) {
          parseDomain = await opts.loadParseDomain();
        }
        matcher = buildAllowMatcher(stored.entries, parseDomain);
        if (version !== -1 || stored.entries.length > 0) opts.info?.(`allow entries: ${stored.entries.length} (version ${stored.version})`);
        version = stored.version;
      }
      if (failing) opts.info?.('allow entries: the store answers again');
      failing = false;
    } catch (error) {
      if (!failing) {
        opts.warn?.(
          `allow entries could not be refreshed, the last copy (${matcher.size} entries) stays in force: ${(error as Error).message}`,
        );
      }
      failing = true;
    } finally {
      checkedAt = opts.clock();
    }
  };

  const refresh = (): Promise<void> => {
    inFlight ??= load().finally(() => {
      inFlight = null;
    });
    return inFlight;
  };

  return {
    current() {
      const age = opts.clock() - checkedAt;
      if (age <= REFRESH_MS) return matcher;
      const running = refresh();
      if (age <= MAX_STALE_MS) return matcher;
      return running.then(() => matcher);
    },
    refresh,
    idle: () => inFlight ?? Promise.resolve(),
    start() {
      if (timer !== null) return;
      timer = setInterval(() => void refresh(), REFRESH_MS);
      timer.unref();
    },
    stop() {
      if (timer !== null) clearInterval(timer);
      timer = null;
    },
  };
}

/** The cache for a store that has the administration side (both adapters), or undefined. */
export function allowCacheFor(
  store: { admin?(): StoreAdmin },
  opts: Omit<AllowCacheOptions, 'admin' | 'loadParseDomain'>,
): AllowEntries | undefined {
  if (store.admin === undefined) return undefined;
  return createAllowCache({
    ...opts,
    admin: store.admin(),
    loadParseDomain: async () => (await import('../service/public-suffix-list.ts')).parseDomainWithPsl,
  });
}
