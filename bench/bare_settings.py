"""The site's settings plus the benchmark's bare view (``bench/bare_urls.py``)."""

from shop.settings import *  # noqa: F403

ROOT_URLCONF = "bench.bare_urls"
