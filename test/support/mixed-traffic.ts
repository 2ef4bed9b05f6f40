// A scripted run of mixed traffic against a running greygate's HTTP API (real sockets): new
// triplets, early retries, first passes after 400 s (policy_test_time moves the decision's clock,
// not the statistics'), known triplets passing again, whitelisted clients and recipients. Returns
// the decisions as answered, so a test can hold /metrics, the report and the status page to them.

export interface AnsweredDecision {
  verdict: string;
  reason: string;
}

export interface TrafficOptions {
  /** `http://host:port` of the API. */
  url: string;
  token?: string;
  /** The decision clock of the first request (epoch seconds). */
  t0: number;
  /** Makes the triplets of one run distinct from another's (two instances, one table). */
  tag: string;
  /** A client address on the client whitelist, and a recipient on the recipient whitelist. */
  whitelistedClient: string;
  whitelistedRecipient: string;
}

export async function runMixedTraffic(o: TrafficOptions): Promise<AnsweredDecision[]> {
  const answers: AnsweredDecision[] = [];
  const check = async (attrs: Record<string, string | number>): Promise<void> => {
    const res = await fetch(`${o.url}/v1/check`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(o.token ? { authorization: `Bearer ${o.token}` } : {}) },
      body: JSON.stringify(attrs),
    });
    if (res.status !== 200) throw new Error(`check answered ${res.status}: ${await res.text()}`);
    const body = (await res.json()) as AnsweredDecision;
    answers.push({ verdict: body.verdict, reason: body.reason });
  };
  const triplet = (i: number, at: number) => ({
    client_address: `192.0.2.${10 + i}`,
    client_name: 'unknown',
    sender: `sender${i}-${o.tag}@example.net`,
    recipient: `rcpt${i}@example.org`,
    policy_test_time: at,
  });
  for (let i = 0; i < 6; i += 1) await check(triplet(i, o.t0)); // 6 × greylist/new
  for (const i of [0, 1]) await check(triplet(i, o.t0 + 60)); // 2 × greylist/early-retry
  for (const i of [2, 3, 4]) await check(triplet(i, o.t0 + 400)); // 3 × pass/triplet-found, first pass after 400 s
  await check(triplet(2, o.t0 + 500)); // pass/triplet-found, passed before
  for (const n of [1, 2]) {
    await check({ client_address: o.whitelistedClient, client_name: 'unknown', sender: `wl${n}@example.net`, recipient: 'x@example.org' });
  }
  await check({ client_address: '198.51.100.7', client_name: 'unknown', sender: `s-${o.tag}@example.net`, recipient: o.whitelistedRecipient });
  return answers;
}

/** `verdict/reason` → how many. */
export function tally(answers: readonly AnsweredDecision[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const a of answers) counts[`${a.verdict}/${a.reason}`] = (counts[`${a.verdict}/${a.reason}`] ?? 0) + 1;
  return counts;
}

/** The samples of one metric in a Prometheus exposition: labels as text → value. */
export function samples(exposition: string, metric: string): Map<string, number> {
  const found = new Map<string, number>();
  for (const line of exposition.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$/.exec(line);
    if (m && m[1] === metric) found.set(m[2] ?? '', Number(m[3]));
  }
  return found;
}
