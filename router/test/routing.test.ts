// The routing algorithms on their own, without sockets: where requests land
// as the router would call them (endpoint views sorted by URL, in-flight and
// recent counts kept up to date), and how they cope with endpoints coming
// and going.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseRoutingLogic } from '../src/options.js';
import {
  createAlgorithm, LeastLoaded, PrefixAware, PREFIX_DEFAULTS, prefixLoad, RoundRobin, ROUTING_LOGICS, SessionAffinity,
  type EndpointView, type EngineLoad, type RoutedRequest, type RoutingAlgorithm, type RoutingLogic,
} from '../src/routing/index.js';

const MODEL = 'facebook/opt-125m';

function url(i: number): string {
  return `http://10.0.0.${i}:8000`;
}

function urls(n: number): string[] {
  return Array.from({ length: n }, (_, i) => url(i + 1));
}

function req(prompt = '', sessionId: string | null = null): RoutedRequest {
  return { model: MODEL, sessionId, prompt };
}

/** The router's side: the endpoints it knows and the load it counts, as views handed to an algorithm. */
class Cluster {
  private readonly byUrl = new Map<string, EndpointView>();

  constructor(initial: string[]) {
    for (const u of initial) this.add(u);
  }

  add(u: string, engine: EngineLoad | null = null): void {
    this.byUrl.set(u, { url: u, inFlight: 0, recentRequests: 0, engine });
  }

  remove(u: string): void {
    this.byUrl.delete(u);
  }

  view(u: string): EndpointView {
    return this.byUrl.get(u) as EndpointView;
  }

  urls(): Set<string> {
    return new Set(this.byUrl.keys());
  }

  /** Sorted by URL, as the router passes them. */
  views(): EndpointView[] {
    return [...this.byUrl.values()].sort((a, b) => (a.url < b.url ? -1 : a.url > b.url ? 1 : 0));
  }

  /** Routes one request; it stays in flight until finish() (a burst), or completes at once when `hold` is false. */
  route(algorithm: RoutingAlgorithm, request: RoutedRequest, hold = false): string {
    const chosen = algorithm.choose(this.views(), request);
    assert.ok(this.byUrl.has(chosen.url), `chose ${chosen.url}, which is not a candidate`);
    const v = this.view(chosen.url);
    v.recentRequests++;
    if (hold) v.inFlight++;
    return chosen.url;
  }

  finish(u: string): void {
    this.view(u).inFlight--;
  }
}

function tally(picks: string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const p of picks) counts.set(p, (counts.get(p) ?? 0) + 1);
  return counts;
}

/** Max minus min of the counts of `among` (an endpoint never picked counts 0). */
function spread(counts: Map<string, number>, among: Iterable<string>): number {
  const values = [...among].map((u) => counts.get(u) ?? 0);
  return Math.max(...values) - Math.min(...values);
}

/** Text that differs from the first character on, so that two users never share a prefix. */
function words(seed: string, length: number): string {
  let text = '';
  for (let i = 0; text.length < length; i++) text += `${seed} says thing ${i} about topic ${seed.length * 7 + i}. `;
  return text.slice(0, length);
}

// ---------------------------------------------------------------- roundrobin

test('roundrobin: k*N picks over N endpoints hit each exactly k times', () => {
  for (const n of [1, 2, 3, 5]) {
    const cluster = new Cluster(urls(n));
    const rr = new RoundRobin();
    const picks = Array.from({ length: 7 * n }, () => cluster.route(rr, req()));
    assert.deepEqual([...tally(picks).values()], Array(n).fill(7), `n=${n}`);
  }
});

test('roundrobin: stays even when an endpoint is added midway', () => {
  const cluster = new Cluster(urls(3));
  const rr = new RoundRobin();
  // Stop mid-rotation, so that the change does not fall on a boundary.
  for (let i = 0; i < 7; i++) cluster.route(rr, req());
  cluster.add(url(4));
  const after: string[] = [];
  for (let rotation = 1; rotation <= 5; rotation++) {
    for (let i = 0; i < 4; i++) {
      after.push(cluster.route(rr, req()));
      assert.ok(spread(tally(after), cluster.urls()) <= 1, `uneven within rotation ${rotation}: ${[...tally(after)]}`);
    }
    // The newcomer takes its share from the first rotation on, no more, no less.
    assert.equal(spread(tally(after), cluster.urls()), 0);
  }
});

test('roundrobin: stays even when an endpoint is removed midway', () => {
  const cluster = new Cluster(urls(4));
  const rr = new RoundRobin();
  const all: string[] = [];
  for (let i = 0; i < 6; i++) all.push(cluster.route(rr, req()));
  cluster.remove(url(2));
  const after: string[] = [];
  for (let rotation = 1; rotation <= 5; rotation++) {
    for (let i = 0; i < 3; i++) {
      const u = cluster.route(rr, req());
      assert.notEqual(u, url(2), 'routed to the removed endpoint');
      after.push(u);
      all.push(u);
      assert.ok(spread(tally(after), cluster.urls()) <= 1, `uneven within rotation ${rotation}`);
    }
    // Over the whole run the survivors stay within one request of each other.
    assert.ok(spread(tally(all), cluster.urls()) <= 1, `cumulative ${[...tally(all)]}`);
  }
});

test('roundrobin: one rotation per endpoint set, so requests for two models alternating starve no engine', () => {
  // production-stack's own case: A1,A2 serve model A, B1,B2 serve model B, requests alternate A, B, A, B…
  const rr = new RoundRobin();
  const a = new Cluster([url(1), url(2)]);
  const b = new Cluster([url(3), url(4)]);
  const picks: string[] = [];
  for (let i = 0; i < 8; i++) picks.push(a.route(rr, req()), b.route(rr, req()));
  assert.deepEqual([...tally(picks).entries()].sort(), [[url(1), 4], [url(2), 4], [url(3), 4], [url(4), 4]]);
});

// ---------------------------------------------------------------- session

const SESSIONS = Array.from({ length: 2000 }, (_, i) => `user-${i}`);

function sessionOwners(cluster: Cluster, algorithm: RoutingAlgorithm): Map<string, string> {
  return new Map(SESSIONS.map((s) => [s, cluster.route(algorithm, req('', s))]));
}

test('session: a session id always goes to the same endpoint, however loaded', () => {
  const cluster = new Cluster(urls(4));
  const session = new SessionAffinity();
  const home = cluster.route(session, req('', 'alice'), true);
  for (let i = 0; i < 20; i++) {
    // Its endpoint becomes the busiest by far: affinity must win over load.
    assert.equal(cluster.route(session, req('', 'alice'), true), home);
  }
  assert.equal(cluster.view(home).inFlight, 21);
  // A fresh instance (the router restarted, or the config reloaded) agrees.
  assert.equal(new SessionAffinity().choose(cluster.views(), req('', 'alice')).url, home);
});

test('session: 2000 sessions spread over 4 endpoints within ±40% of the mean', () => {
  const cluster = new Cluster(urls(4));
  const counts = tally([...sessionOwners(cluster, new SessionAffinity()).values()]);
  const mean = SESSIONS.length / 4;
  for (const u of cluster.urls()) {
    const n = counts.get(u) ?? 0;
    assert.ok(n >= mean * 0.6 && n <= mean * 1.4, `${u} owns ${n} sessions, mean ${mean}: ${[...counts]}`);
  }
});

test('session: adding a 5th endpoint moves about 1/5 of the sessions, all of them to the newcomer', () => {
  const cluster = new Cluster(urls(4));
  const session = new SessionAffinity();
  const before = sessionOwners(cluster, session);
  cluster.add(url(5));
  const after = sessionOwners(cluster, session);
  const moved = SESSIONS.filter((s) => before.get(s) !== after.get(s));
  const fraction = moved.length / SESSIONS.length;
  assert.ok(fraction >= 0.1 && fraction <= 0.3, `moved ${fraction}`);
  for (const s of moved) assert.equal(after.get(s), url(5), `${s} moved between two old endpoints`);
});

test('session: removing one of 4 endpoints moves only the sessions it held', () => {
  const cluster = new Cluster(urls(4));
  const session = new SessionAffinity();
  const before = sessionOwners(cluster, session);
  cluster.remove(url(3));
  const after = sessionOwners(cluster, session);
  let orphans = 0;
  for (const s of SESSIONS) {
    if (before.get(s) === url(3)) {
      orphans++;
      assert.notEqual(after.get(s), url(3));
    } else {
      assert.equal(after.get(s), before.get(s), `${s} moved although its endpoint stayed`);
    }
  }
  assert.ok(orphans > 0);
  // When it comes back, its sessions come home.
  cluster.add(url(3));
  assert.deepEqual(sessionOwners(cluster, session), before);
});

test('session: a request without a session id goes to the least loaded endpoint', () => {
  const cluster = new Cluster(urls(4));
  const session = new SessionAffinity();
  for (const [i, n] of [3, 1, 0, 2].entries()) cluster.view(url(i + 1)).inFlight = n;
  assert.equal(cluster.route(session, req('', null)), url(3));
  assert.equal(cluster.route(session, req('', '')), url(3), 'an empty session id counts as none');
  // In-flight ties go by the recent requests; then a burst fills the least loaded first.
  const cold = new Cluster(urls(4));
  const burst = Array.from({ length: 8 }, () => cold.route(session, req(), true));
  assert.deepEqual([...tally(burst).values()], [2, 2, 2, 2]);
});

// ---------------------------------------------------------------- prefixaware

test('prefixaware: a conversation goes back to the endpoint holding it, until that one has 2 requests more in flight than another', () => {
  const cluster = new Cluster(urls(4));
  const prefix = createAlgorithm('prefixaware');
  let history = words('alice', 2000);
  const home = cluster.route(prefix, req(history), true);
  // The history is cached there: worth almost 2 requests of load (the new question is not cached).
  history += ` ${words('turn 1', 300)}`;
  assert.equal(cluster.route(prefix, req(history), true), home, 'one more in flight there: it stays');
  history += ` ${words('turn 2', 300)}`;
  assert.notEqual(cluster.route(prefix, req(history)), home, 'two more in flight there: the hit is no longer worth the wait');
  // With --prefix-load-weight 0 the longest match wins however busy its endpoint (production-stack's behaviour).
  const longest = new PrefixAware({ ...PREFIX_DEFAULTS, loadWeight: 0 });
  const busy = new Cluster(urls(4));
  let story = words('carl', 2000);
  const itsHome = busy.route(longest, req(story), true);
  for (let turn = 1; turn <= 6; turn++) {
    story += ` ${words(`t${turn}`, 50)}`;
    assert.equal(busy.route(longest, req(story), true), itsHome);
  }
  // A prompt sharing nothing goes elsewhere: the home endpoint is the busiest.
  assert.notEqual(cluster.route(prefix, req(words('bob', 2000))), home);
});

test('prefixaware: a system prompt cached on one engine does not pull every new user there', () => {
  // production-stack's multi-round QA: users arrive one after another, all sharing a long system prompt;
  // each stays in flight (a stream), and the first engine to see the prompt is the only one holding it.
  const system = words('system', 6000);
  for (const [loadWeight, expectAllOnOne] of [[0, true], [PREFIX_DEFAULTS.loadWeight, false]] as const) {
    const cluster = new Cluster(urls(2));
    const prefix = new PrefixAware({ ...PREFIX_DEFAULTS, loadWeight });
    const homes = Array.from({ length: 8 }, (_, u) => cluster.route(prefix, req(`${system}\n${words(`user${u}`, 400)}`), true));
    const perEndpoint = tally(homes);
    if (expectAllOnOne) assert.equal(perEndpoint.size, 1, 'longest match: everyone on the engine that first saw the system prompt');
    else assert.deepEqual([...perEndpoint.values()].sort(), [4, 4], `balanced: ${[...perEndpoint]}`);
  }
});

test('prefixaware: only the match beyond what every candidate holds counts; a match all share weighs nothing against load', () => {
  const cluster = new Cluster(urls(3));
  const prefix = new PrefixAware();
  const system = words('shared', 3000);
  const user = (u: number) => `${system}\n${words(`u${u}`, 200)}`;
  // Five users in flight take the system prompt to every endpoint.
  const homes = [0, 1, 2, 3, 4].map((u) => cluster.route(prefix, req(user(u)), true));
  assert.equal(new Set(homes).size, 3);
  assert.deepEqual(prefix.matched(cluster.views(), req(`${system}\nsomeone new`)), [2944, 2944, 2944], 'all hold the 23 full chunks of the system prompt');
  const [a, b, c] = urls(3) as [string, string, string];
  // A new user matches the system prompt everywhere: the least loaded wins, even by one request.
  cluster.view(a).inFlight = 2;
  cluster.view(b).inFlight = 1;
  cluster.view(c).inFlight = 2;
  assert.equal(cluster.route(prefix, req(`${system}\n${words('newcomer', 200)}`)), b);
  // A returning user's own history is worth it: back home although busier by one.
  const home0 = homes[0] as string;
  for (const v of cluster.views()) v.inFlight = v.url === home0 ? 2 : 1;
  assert.equal(cluster.route(prefix, req(`${user(0)} follow-up`)), home0);
});

test('prefixaware: the engine\'s own queue and KV usage count as load, beside the router\'s in-flight count', () => {
  const history = words('dora', 1000);
  const cluster = new Cluster([]);
  cluster.add(url(1), { waiting: 0, running: 0, kvUsage: 0 });
  cluster.add(url(2), { waiting: 0, running: 0, kvUsage: 0 });
  const prefix = new PrefixAware();
  const home = cluster.route(prefix, req(history));
  const other = home === url(1) ? url(2) : url(1);
  assert.equal(cluster.route(prefix, req(`${history} more`)), home);
  // Its engine reports a queue of 3 (from other routers' traffic, say): the hit is not worth that wait.
  cluster.view(home).engine = { waiting: 3, running: 4, kvUsage: 0.5 };
  assert.equal(cluster.route(prefix, req(`${history} more again`)), other);
  assert.equal(prefixLoad(cluster.view(home)), 3.5);
});

test('prefixaware: 7 users with distinct contexts over 4 endpoints: each endpoint takes 5 to 15 of the 35 requests, and each user stays on one', () => {
  const cluster = new Cluster(urls(4));
  const prefix = createAlgorithm('prefixaware');
  const users = Array.from({ length: 7 }, (_, u) => ({ history: words(`ctx${u}`, 1500), homes: new Set<string>() }));
  const picks: string[] = [];
  for (let round = 0; round < 5; round++) {
    // All users in flight at once each round, then their answers come back.
    const sent = users.map((user, u) => {
      user.history += ` ${words(`q${u}.${round}`, 100)}`;
      const home = cluster.route(prefix, req(user.history), true);
      user.homes.add(home);
      picks.push(home);
      return home;
    });
    for (const home of sent) cluster.finish(home);
  }
  for (const [u, user] of users.entries()) assert.equal(user.homes.size, 1, `user ${u} wandered over ${[...user.homes]}`);
  for (const e of cluster.urls()) {
    const n = tally(picks).get(e) ?? 0;
    assert.ok(n >= 5 && n <= 15, `${e} took ${n} of 35`);
  }
});

test('prefixaware: cold users arriving one at a time spread over all endpoints and stay put', () => {
  for (const order of ['user after user', 'interleaved'] as const) {
    const cluster = new Cluster(urls(4));
    const prefix = createAlgorithm('prefixaware');
    const users = Array.from({ length: 7 }, (_, u) => ({ name: `user${u}`, history: words(`user${u}`, 600), homes: new Set<string>() }));
    const send = (user: (typeof users)[number], turn: number) => {
      user.history += ` ${words(`${user.name} turn ${turn}`, 200)}`;
      // Sequential: each request completes before the next arrives, so nothing is in flight.
      user.homes.add(cluster.route(prefix, req(user.history)));
    };
    if (order === 'user after user') for (const user of users) for (let turn = 0; turn < 4; turn++) send(user, turn);
    else for (let turn = 0; turn < 4; turn++) for (const user of users) send(user, turn);
    for (const user of users) assert.equal(user.homes.size, 1, `${order}: ${user.name} wandered over ${[...user.homes]}`);
    const perEndpoint = tally(users.map((user) => [...user.homes][0] as string));
    assert.equal(perEndpoint.size, 4, `${order}: users landed on ${[...perEndpoint]}`);
    assert.ok(spread(perEndpoint, cluster.urls()) <= 1, `${order}: ${[...perEndpoint]}`);
  }
});

test('prefixaware: among endpoints holding the same prefix, the one with fewer in flight wins', () => {
  const cluster = new Cluster(urls(3));
  const prefix = new PrefixAware();
  const history = words('carol', 1000);
  const home = cluster.route(prefix, req(history));
  // The home endpoint is briefly unhealthy: the conversation goes to another, which now holds it too.
  const [second] = cluster.views().filter((v) => v.url !== home);
  const secondUrl = (second as EndpointView).url;
  assert.equal(prefix.choose([second as EndpointView], req(history)).url, secondUrl);
  // Both hold the prefix; the third does not. Load decides between the two holders only.
  cluster.view(home).inFlight = 5;
  cluster.view(secondUrl).inFlight = 1;
  // (Each follow-up differs after the history: a repeated one would match longest where it went last.)
  assert.equal(prefix.choose(cluster.views(), req(`${history} and then`)).url, secondUrl);
  cluster.view(home).inFlight = 0;
  assert.equal(prefix.choose(cluster.views(), req(`${history} or else`)).url, home);
  // Cold prompts go to the least in flight of all.
  cluster.view(home).inFlight = 2;
  cluster.view(secondUrl).inFlight = 2;
  const third = cluster.views().find((v) => v.url !== home && v.url !== secondUrl) as EndpointView;
  assert.equal(prefix.choose(cluster.views(), req(words('dave', 500))).url, third.url);
});

test('prefixaware: the index stays within maxEntries and keeps the recently used prefixes', () => {
  const options = { ...PREFIX_DEFAULTS, chunkSize: 16, maxEntries: 100 };
  const prefix = new PrefixAware(options);
  const cluster = new Cluster(urls(4));
  const old = words('old', 64);
  const hot = words('hot', 64);
  const oldHome = cluster.route(prefix, req(old));
  const hotHome = cluster.route(prefix, req(hot));
  for (let i = 0; i < 1000; i++) {
    cluster.route(prefix, req(words(`filler${i}`, 64)));
    assert.ok(prefix.size <= options.maxEntries, `index holds ${prefix.size} entries`);
    // The hot conversation keeps coming back, so it is never the least recently used.
    if (i % 10 === 0) assert.equal(cluster.route(prefix, req(hot)), hotHome, `hot prompt lost its endpoint at ${i}`);
  }
  assert.equal(prefix.size, options.maxEntries);
  // The old prompt was evicted: with its endpoint now the busiest, it goes elsewhere.
  cluster.view(oldHome).inFlight = 10;
  assert.notEqual(cluster.route(prefix, req(old)), oldHome);
});

test('prefixaware: a full index trims prompts from their tails, so their beginnings still match', () => {
  const prefix = new PrefixAware({ ...PREFIX_DEFAULTS, chunkSize: 16, maxEntries: 5 });
  const cluster = new Cluster(urls(2));
  const long = words('long', 64); // four 16-character chunks
  const home = cluster.route(prefix, req(long));
  cluster.route(prefix, req(words('other', 24)));
  assert.equal(prefix.size, 5, 'six chunks went in: the index is full and has evicted one');
  // The long prompt lost its last chunk, not its first: its first three still match where it went.
  const matched = prefix.matched(cluster.views(), req(long));
  assert.equal(matched[cluster.views().findIndex((v) => v.url === home)], 48);
});

test('prefixaware: forgets an endpoint that left, even if it comes back', () => {
  const cluster = new Cluster(urls(3));
  const prefix = new PrefixAware();
  const history = words('erin', 1000);
  const home = cluster.route(prefix, req(history));
  const sizeBefore = prefix.size;
  assert.ok(sizeBefore > 0);
  cluster.remove(home);
  prefix.retain(cluster.urls());
  assert.equal(prefix.size, 0, 'entries held only by the endpoint that left were kept');
  // It returns (same URL, empty cache) and is the busiest: the prompt is cold now, not sticky.
  cluster.add(home);
  cluster.view(home).inFlight = 3;
  assert.notEqual(cluster.route(prefix, req(history)), home);
});

test('prefixaware: shared prefixes shorter than the minimum match length count as none', () => {
  const history = words('frank', 1000);
  // 2 full chunks of 128 characters in common, then a different third chunk.
  const shares256 = `${history.slice(0, 300)}${words('other', 700)}`;
  // 3 full chunks in common.
  const shares384 = `${history.slice(0, 400)}${words('other', 600)}`;
  const matchedAfterHistory = (minMatch: number, prompt: string): number[] => {
    const cluster = new Cluster(urls(3));
    const prefix = createAlgorithm('prefixaware', minMatch) as PrefixAware;
    const home = cluster.route(prefix, req(history));
    return prefix.matched(cluster.views(), req(prompt)).filter((_, k) => cluster.views()[k]!.url === home);
  };
  assert.deepEqual(matchedAfterHistory(0, shares256), [256], 'with no minimum, 256 shared characters are a match');
  assert.deepEqual(matchedAfterHistory(300, shares256), [0], '256 shared characters are below a 300 minimum');
  assert.deepEqual(matchedAfterHistory(300, shares384), [384], '384 shared characters meet a 300 minimum');
  assert.equal(PREFIX_DEFAULTS.minMatchLength, 0);
});

// ---------------------------------------------------------------- leastloaded / kvaware

function engine(waiting: number, running: number, kvUsage: number): EngineLoad {
  return { waiting, running, kvUsage };
}

/** A cluster whose engines last reported these loads, in URL order. */
function scraped(loads: EngineLoad[]): Cluster {
  const cluster = new Cluster([]);
  loads.forEach((load, i) => cluster.add(url(i + 1), load));
  return cluster;
}

for (const logic of ['leastloaded', 'kvaware'] as const) {
  test(`${logic}: picks the engine reporting the least load`, () => {
    const algorithm = createAlgorithm(logic);
    // Queues: the one with nothing waiting.
    assert.equal(scraped([engine(6, 4, 0.3), engine(0, 4, 0.3), engine(3, 4, 0.3)]).route(algorithm, req()), url(2));
    // Running batch: the smallest.
    assert.equal(scraped([engine(0, 12, 0.3), engine(0, 9, 0.3), engine(0, 2, 0.3)]).route(algorithm, req()), url(3));
    // KV cache: the emptiest.
    assert.equal(scraped([engine(0, 4, 0.2), engine(0, 4, 0.95), engine(0, 4, 0.6)]).route(algorithm, req()), url(1));
    // A waiting request weighs more than a running one: 2 queued is worse than 5 running.
    assert.equal(scraped([engine(2, 0, 0), engine(0, 5, 0)]).route(algorithm, req()), url(2));
    // Everything skewed at once: the lightly used engine wins whatever the URL order.
    assert.equal(scraped([engine(8, 16, 0.9), engine(3, 10, 0.7), engine(0, 1, 0.05), engine(1, 12, 0.8)]).route(algorithm, req()), url(3));
  });

  test(`${logic}: a burst between two scrapes is spread by the router's in-flight counts`, () => {
    const algorithm = createAlgorithm(logic);
    // Same stale engine stats everywhere: a burst of 12 splits 3/3/3/3.
    const even = scraped([engine(0, 2, 0.1), engine(0, 2, 0.1), engine(0, 2, 0.1), engine(0, 2, 0.1)]);
    const burst = Array.from({ length: 12 }, () => even.route(algorithm, req(), true));
    assert.deepEqual([...tally(burst).values()], [3, 3, 3, 3]);
    // One idle engine among busy ones: it takes the first requests, then they level out.
    const skewed = scraped([engine(0, 4, 0), engine(0, 0, 0), engine(0, 4, 0)]);
    const picks = Array.from({ length: 10 }, () => skewed.route(algorithm, req(), true));
    assert.deepEqual(picks.slice(0, 4), Array(4).fill(url(2)));
    assert.deepEqual(tally(picks), new Map([[url(2), 6], [url(1), 2], [url(3), 2]]));
    // Engines not scraped yet are judged by in-flight alone.
    const fresh = new Cluster(urls(3));
    assert.deepEqual([...tally(Array.from({ length: 9 }, () => fresh.route(algorithm, req(), true))).values()], [3, 3, 3]);
  });
}

test('leastloaded: requests that finish free their engine for the next ones', () => {
  const cluster = scraped([engine(0, 0, 0), engine(0, 0, 0)]);
  const algorithm = new LeastLoaded();
  const first = cluster.route(algorithm, req(), true);
  const second = cluster.route(algorithm, req(), true);
  assert.notEqual(first, second);
  cluster.finish(second);
  assert.equal(cluster.route(algorithm, req(), true), second);
});

// ---------------------------------------------------------------- createAlgorithm

test('createAlgorithm: every --routing-logic name gives a working algorithm', () => {
  const expected: Record<RoutingLogic, string> = {
    roundrobin: 'roundrobin', session: 'session', prefixaware: 'prefixaware', leastloaded: 'leastloaded', kvaware: 'leastloaded',
    disaggregated_prefill: 'leastloaded', disaggregated_prefill_orchestrated: 'leastloaded',
  };
  assert.deepEqual([...ROUTING_LOGICS].sort(), Object.keys(expected).sort());
  for (const logic of ROUTING_LOGICS) {
    const algorithm = createAlgorithm(parseRoutingLogic(logic));
    assert.equal(algorithm.name, expected[logic]);
    assert.ok(urls(2).includes(new Cluster(urls(2)).route(algorithm, req('hello', 's1'))));
  }
  assert.equal((createAlgorithm('prefixaware', 64) as PrefixAware).options.minMatchLength, 64);
  assert.equal((createAlgorithm('prefixaware', 0, 0.25) as PrefixAware).options.loadWeight, 0.25);
});

test('createAlgorithm: an unknown name is refused with the valid choices named', () => {
  const everyChoice = new RegExp(`"fastest" is not one of ${ROUTING_LOGICS.join(', ')}$`);
  // The flag and dynamic-config path.
  assert.throws(() => parseRoutingLogic('fastest'), everyChoice);
  // A library caller (plain JavaScript, or a cast) must not get undefined back and fail later on each request.
  assert.throws(() => createAlgorithm('fastest' as RoutingLogic), everyChoice);
});
