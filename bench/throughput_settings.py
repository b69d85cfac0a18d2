"""PERF-7 only: the test/bench settings with a URL conf that adds `bench/minimal/` to every
enterprise host (bench/throughput_urls.py). Used by the gunicorn that bench/throughput.py starts;
nothing in the product imports it."""

from config.settings.test import *  # noqa: F403

ROOT_URLCONF = "bench.throughput_urls"
