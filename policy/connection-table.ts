// Who holds the policy server's connection slots, and who gives one up when a new client comes.
//
// Two caps: all connections (maxConnections), and connections from one peer address. A new
// connection over either cap does not simply bounce: it takes the slot of the connection that has
// done nothing useful for longest (no request completed or answered since), within the same
// address when that address is over its cap, else among all. That is the reserve that keeps the
// port open to a new client while others hold every slot: slow or silent connections, which a real
// client never keeps, always rank before connections that are being used, and a connection with a
// request in the handler or answers owed is never taken. Only when every candidate is busy is the
// newcomer refused. A Postfix client that loses an idle connection this way reconnects on its next
// request, as it does after its own idle timeout.
//
// Unix-socket peers have no address: every local process shares the one "peer", and the socket's
// file permissions already decide who may connect, so the per-address cap does not apply to them;
// the overall cap and its reserve do.

export interface TableEntry {
  /** The peer's address, the unit of the per-address cap; undefined for unix-socket peers. */
  readonly peerAddress: string | undefined;
  /** When the connection last did something useful: connected, completed a request, got an answer. */
  readonly activeAt: number;
  /** A request is in the handler or waits to be, or answers are owed: never taken. */
  readonly busy: boolean;
}

export type Admission<C> =
  | { kind: 'accept' }
  | { kind: 'evict'; victim: C; cause: LimitCause }
  | { kind: 'refuse'; cause: LimitCause };

/** Which cap the newcomer ran into. */
export type LimitCause = 'address' | 'total';

export class ConnectionTable<C extends TableEntry> {
  readonly maxConnections: number;
  readonly maxPerAddress: number;
  readonly #all = new Set<C>();
  readonly #byAddress = new Map<string, Set<C>>();

  constructor(maxConnections: number, maxPerAddress: number) {
    this.maxConnections = maxConnections;
    this.maxPerAddress = maxPerAddress;
  }

  get size(): number {
    return this.#all.size;
  }

  [Symbol.iterator](): IterableIterator<C> {
    return this.#all.values();
  }

  /** What to do with a new connection from `peerAddress`; the table is not changed. */
  admit(peerAddress: string | undefined): Admission<C> {
    const sameAddress = peerAddress === undefined ? undefined : this.#byAddress.get(peerAddress);
    if (sameAddress !== undefined && sameAddress.size >= this.maxPerAddress) return choose(sameAddress, 'address');
    if (this.#all.size >= this.maxConnections) return choose(this.#all, 'total');
    return { kind: 'accept' };
  }

  add(conn: C): void {
    this.#all.add(conn);
    if (conn.peerAddress === undefined) return;
    let set = this.#byAddress.get(conn.peerAddress);
    if (set === undefined) {
      set = new Set();
      this.#byAddress.set(conn.peerAddress, set);
    }
    set.add(conn);
  }

  /** Idempotent: an evicted connection is removed at once and again when its socket closes. */
  delete(conn: C): void {
    if (!this.#all.delete(conn) || conn.peerAddress === undefined) return;
    const set = this.#byAddress.get(conn.peerAddress);
    set?.delete(conn);
    if (set?.size === 0) this.#byAddress.delete(conn.peerAddress);
  }
}

function choose<C extends TableEntry>(candidates: Iterable<C>, cause: LimitCause): Admission<C> {
  // A linear scan: it runs only at a cap, over at most maxConnections entries, and costs far less
  // than the socket it closes. Sets iterate in insertion order, so ties go to the oldest.
  let victim: C | undefined;
  for (const conn of candidates) {
    if (!conn.busy && (victim === undefined || conn.activeAt < victim.activeAt)) victim = conn;
  }
  return victim === undefined ? { kind: 'refuse', cause } : { kind: 'evict', victim, cause };
}
