"""Peer servers measured side by side with Haven (see bench/peers/README.md)."""
