"""Outgoing webhooks: a seller's endpoints, signed deliveries of their events, retried.

See ``signing`` for the signature scheme, ``sender`` for how an address is
checked and reached (server-side request forgery), ``services`` for events,
deliveries, retries and disabling.
"""
