"""Gunicorn settings for production: `gunicorn project.wsgi` reads this file from the working directory.

Threaded workers (gthread): keep-alive connections for pages that poll every 2 s, and a slow
synchronous API call (a cut-out takes a second or more) occupies one thread, not a whole process.
One process per core holds the CPU; the threads only overlap waiting (database, files, network).
Every value can be overridden from the environment (or with gunicorn's own command-line flags).

bench/load.py measures it. On 2 cores shared with other work, 2x4, 2x8 and 4x2 served job-status
polls equally within the noise; more processes cost memory (each process that has run a synchronous
cut-out keeps the model and its arenas; its threads take turns on the model, SYNC_ENGINE_CONCURRENCY
at a time), more threads only more switching. Set CONN_MAX_AGE (e.g. 600) in production: opening
the database per request was half the cost of a poll.
"""

import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", os.cpu_count() or 2))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
# Longer than the 2 s polling interval, so a polling page keeps its connection.
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "5"))
# Synchronous API calls run models in the web process; give them time, then recycle a stuck worker.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "120"))
graceful_timeout = 30
# Recycle workers now and then, staggered, so slow growth (model arenas, caches) cannot accumulate;
# rarely: polling pages make many cheap requests, and a restart costs a second or two of CPU.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "50000"))
max_requests_jitter = max_requests // 10
# Django's own log lines carry the request id; a proxy in front usually keeps the access log.
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
# The path without its query string (%(U)s, not %(r)s): RPC v2 and Aidge v2 clients sign in the query.
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s "%(a)s"'
errorlog = "-"
# X-Forwarded-* from the proxy on this machine; set FORWARDED_ALLOW_IPS for a proxy elsewhere.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
