// Service worker: keeps the app shell (HTML, CSS, JS, icons) so a second visit opens offline
// and a slow link only has to carry what changed. API responses and the room's WebSocket are
// never cached: meeting data, names and messages stay off the disk.
//
// One cache per release: the server names it after the web client's files (app/api/pages.py
// replaces the name below), so a release is a new worker. It fetches the whole shell into its
// own cache before it takes over and then drops the old one; pages are served from the cache
// alone, never revalidated file by file, so a link that drops during an update cannot leave a
// page with modules of two releases. The next visit after a release opens the new one.
const CACHE = 'haven-shell-dev';
const SHELL = [
  '/', '/m.html', '/css/haven.css', '/manifest.webmanifest', '/icons/icon.svg',
  '/js/dom.js', '/js/shell.js', '/js/directory.js', '/js/meeting.js', '/js/connection.js',
  '/js/room.js', '/js/roomview.js',
];

self.addEventListener('install', (event) => {
  // A first install takes what the page just loaded from the HTTP cache (force-cache), not the
  // network again; an update checks each file with the server (no-cache: a 304 when unchanged).
  // Any file missing fails the install, and the old worker and cache stay in charge.
  event.waitUntil(caches.keys()
    .then((keys) => keys.some((k) => k.startsWith('haven-shell-') && k !== CACHE) ? 'no-cache' : 'force-cache')
    .then((mode) => caches.open(CACHE).then((c) => c.addAll(SHELL.map((u) => new Request(u, { cache: mode })))))
    .then(() => self.skipWaiting()));
});

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
    if (key) event.respondWith(fromCache(req, key));
    return;
  }
  event.respondWith(fromCache(req, null));
});

/** This release's copy, or the network's (kept: a file of the shell fetched later, such as the
 * facilitators' tools, comes from the same release). A page's route is kept as its file. */
async function fromCache(req, key) {
  const cache = await caches.open(CACHE);
  const cached = await cache.match(key || req, { ignoreSearch: true });
  if (cached) return cached;
  const res = await fetch(req);
  if (res.ok && res.type === 'basic') await cache.put(key || req, res.clone());
  return res;
}
