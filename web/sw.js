// Service worker: keeps the app shell (HTML, CSS, JS, icons) so a second visit opens offline
// and a slow link only has to carry what changed. API responses and the room's WebSocket are
// never cached: meeting data, names and messages stay off the disk.
const CACHE = 'haven-shell-v2';
const SHELL = [
  '/', '/m.html', '/css/haven.css', '/manifest.webmanifest', '/icons/icon.svg',
  '/js/dom.js', '/js/shell.js', '/js/directory.js', '/js/meeting.js', '/js/connection.js',
  '/js/room.js', '/js/roomview.js',
];
const NAV_TIMEOUT_MS = 4000;

self.addEventListener('install', (event) => {
  // force-cache: what the page just loaded comes from the HTTP cache, not the network again.
  event.waitUntil(caches.open(CACHE)
    .then((c) => c.addAll(SHELL.map((u) => new Request(u, { cache: 'force-cache' }))))
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
    if (key) event.respondWith(navigate(req, key));
    return;
  }
  event.respondWith(staleWhileRevalidate(req, event));
});

async function navigate(req, key) {
  const cache = await caches.open(CACHE);
  const network = fetch(req).then((res) => {
    if (res.ok) cache.put(key, res.clone());
    return res;
  });
  network.catch(() => null); // settled below; this only silences a late failure
  const timeout = new Promise((resolve) => setTimeout(resolve, NAV_TIMEOUT_MS));
  try {
    // A slow link gets the cached page after a few seconds; the fresh one still lands in the cache.
    const res = await Promise.race([network, timeout.then(() => cache.match(key))]);
    if (res) return res;
    return await network;
  } catch {
    return (await cache.match(key)) || Response.error();
  }
}

async function staleWhileRevalidate(req, event) {
  const cache = await caches.open(CACHE);
  const cached = await cache.match(req, { ignoreSearch: true });
  const network = fetch(req).then((res) => {
    if (res.ok && res.type === 'basic') cache.put(req, res.clone());
    return res;
  });
  if (cached) {
    event.waitUntil(network.catch(() => null));
    return cached;
  }
  return network;
}
