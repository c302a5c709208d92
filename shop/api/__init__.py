"""The seller API: ``/api/v1/``, a seller's own catalog and sales over HTTP, as JSON.

Protocol, as clients see it (the OpenAPI document at ``/api/v1/openapi.json``
and the docs page at ``/api/v1/docs`` say the same per endpoint):

- **Tokens.** A seller makes personal tokens on ``/sell/api/``. A token reads
  ``ech_`` followed by 43 URL-safe characters; it is shown once, and only its
  SHA-256 is stored (like library links). It goes in ``Authorization: Bearer
  <token>`` and nowhere else: a request naming one in its query string is
  refused (400) before anything else, since addresses end up in logs.
- **Scopes.** Each token carries scopes (``shop.api.scopes``); each endpoint
  needs one, and a token without it gets 403.
- **Ownership.** A token acts as its seller's account through the same gate as
  the seller pages (``catalog.access``): another seller's product is a 404.
- **Errors.** Always JSON, ``{"error": {"code": ..., "message": ...}}``, with
  ``fields`` (name → messages) on 422. Messages are English sentences; codes
  are stable.
- **Pages.** Lists are newest first, ``limit`` items (1-100) at a time;
  ``next`` is an opaque cursor (signed, so an edited one is refused with 400)
  for ``?cursor=``, keyset on (time, id): rows never repeat or go missing
  between pages, even with equal times.
- **Caching.** Reads carry an ``ETag``; ``If-None-Match`` with it answers 304.
- **Limits.** Requests are counted per token in the shared cache
  (``catalog.limits``); past ``LIMIT_API_TOKEN`` the answer is 429 with
  ``Retry-After``.
"""
