"""Gunicorn settings for production: `gunicorn project.wsgi` reads this file from the working directory.

Threaded workers (gthread): keep-alive connections for pages that poll every 2 s, and a slow
synchronous API call (a cut-out takes a second or more) occupies one thread, not a whole process.
One process per core holds the CPU; the threads only overlap waiting (database, files, network).
Every value can be overridden from the environment (or with gunicorn's own command-line flags).

Measured with bench/load.py on 2 shared cores: 2 workers x 4 threads served the most polls per
second; more processes than cores only added context switches and memory (each process that runs
a cut-out keeps its model, ~200 MB).
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
# Recycle workers now and then, staggered, so slow growth (model arenas, caches) cannot accumulate.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "5000"))
max_requests_jitter = max_requests // 10
# Django's own log lines carry the request id; a proxy in front usually keeps the access log.
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
errorlog = "-"
# X-Forwarded-* from the proxy on this machine; set FORWARDED_ALLOW_IPS for a proxy elsewhere.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
