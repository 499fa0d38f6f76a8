# gunicorn -c deploy/gunicorn.conf.py saas.wsgi
import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count() * 2 + 1))
threads = int(os.environ.get("GUNICORN_THREADS", 2))
timeout = 30
graceful_timeout = 30
max_requests = 2000
max_requests_jitter = 200
forwarded_allow_ips = "127.0.0.1"
accesslog = "-"
errorlog = "-"
