"""HTTP edge: routers, and the ASGI middleware every response passes through."""
