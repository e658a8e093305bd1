"""Typing replay: traces of human typing, a driver that plays them into the real
server over stdio as an editor would, and a report of requests, latency and cost."""
