"""Demo data: ``manage.py demo`` fills a fresh shop through every app's real services.

It sits on top of everything: it may import any app, and nothing imports it.
"""
