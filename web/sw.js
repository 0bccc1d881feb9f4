// Service worker: keeps the app shell (HTML, CSS, JS, icons) so a second visit opens offline
// and a slow link only has to carry what changed. API responses and the room's WebSocket are
// never cached: meeting data, names and messages stay off the disk.
//
// One cache per release: the server names it after the web client's files (app/api/pages.py
// replaces the name below), so a release is a new worker. It fetches the whole shell into its
// own cache; pages are served from their release's cache alone, never revalidated file by
// file, so a link that drops during an update cannot leave a page with modules of two
// releases. A new release waits until no page of the old one is open (an open meeting loads
// the facilitators' tools from its own release), or until the directory, the only page open,
// asks it to take over; then the old cache goes.
const CACHE = 'haven-shell-dev';
const SHELL = [
  '/', '/m.html', '/css/haven.css', '/manifest.webmanifest', '/icons/icon.svg',
  '/js/dom.js', '/js/shell.js', '/js/directory.js', '/js/meeting.js', '/js/connection.js',
  '/js/room.js', '/js/roomview.js',
];

self.addEventListener('install', (event) => {
  // Each file checked with the server (no-cache: a 304 when the HTTP cache holds it already),
  // so a stale HTTP cache never becomes a release's copy. Any file missing fails the install,
  // and the old worker and cache stay in charge. A first install takes over at once: the page
  // that registered it came from the network, the same release.
  const first = !self.registration.active;
  event.waitUntil(caches.open(CACHE)
    .then((c) => c.addAll(SHELL.map((u) => new Request(u, { cache: 'no-cache' }))))
    .then(() => (first ? self.skipWaiting() : undefined)));
});

// The directory (no meeting in it) asks a waiting release to take over when it is the only
// page open, then reloads into it (js/shell.js). A page closed a moment ago can still be
// counted: the count is taken again for a few seconds.
self.addEventListener('message', (event) => {
  if (event.data !== 'activate') return;
  event.waitUntil(aloneThenActivate(5));
});

async function aloneThenActivate(tries) {
  for (let i = 0; i < tries; i += 1) {
    if (i) await new Promise((resolve) => setTimeout(resolve, 1000));
    const pages = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
    if (pages.length <= 1) return self.skipWaiting();
  }
  return undefined;
}

self.addEventListener('activate', (event) => {
  event.waitUntil(caches.keys()
    .then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
    .then(() => self.clients.claim()));
});

/** The cached page a navigation falls back to: the route's static file. */
function shellKey(url) {
  if (url.pathname.startsWith('/m/') || url.pathname === '/m.html') return '/m.html';
  if (url.pathname.startsWith('/console')) return '/console.html';
  if (url.pathname === '/' || url.pathname === '/index.html') return '/';
  return null;
}

self.addEventListener('fetch', (event) => {
  const req = event.request;
  const url = new URL(req.url);
  if (req.method !== 'GET' || url.origin !== location.origin) return;
  if (url.pathname.startsWith('/api/') || url.pathname === '/ws' || url.pathname === '/metrics') return;
  if (req.mode === 'navigate') {
    const key = shellKey(url);
    if (key) event.respondWith(fromCache(event, key));
    return;
  }
  event.respondWith(fromCache(event, null));
});

/** This release's copy, or the network's (kept: a file of the shell fetched later, such as the
 * facilitators' tools, comes from the same release). A page's route is kept as its file. */
async function fromCache(event, key) {
  const req = event.request;
  const cache = await caches.open(CACHE);
  const cached = await cache.match(key || req, { ignoreSearch: true });
  if (cached) return cached;
  const res = await fetch(req);
  // Kept in the background; a cache that cannot take it (full, say) costs only the copy.
  if (res.ok && res.type === 'basic') event.waitUntil(cache.put(key || req, res.clone()).catch(() => {}));
  return res;
}
