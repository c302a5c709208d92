"""Following a creator: double opt-in by email, a mail for each new release, one-click leave.

- A visitor types an address on a seller's page; a link signed with the salt
  ``catalog.follows.confirm`` over ``{"f": <follow id>, "e": <email>}`` is
  mailed there, good for three days. Opening it and pressing the button
  confirms (a button, not the GET: mail scanners open links). A signed-in
  seller whose address is verified follows at once.
- Publishing a product (``release_published``, called by the product
  services on the change into *published*) enqueues ``release_announce``,
  which makes one ``ReleaseMail`` row per confirmed follower (unique per
  follower and product) and enqueues one mail per row it made. Each mail
  claims its row (``sent_at``) before sending and gives it back on a
  transient failure, so a retried task, a fan-out run twice or a product
  published again never mails anyone twice for one product.
- Every release mail carries ``List-Unsubscribe`` (an HTTPS URL signed with
  the salt ``catalog.follows.unsubscribe``, no expiry) and
  ``List-Unsubscribe-Post: List-Unsubscribe=One-Click`` (RFC 8058): a POST
  to that URL unsubscribes, with no CSRF token and no login; a GET shows a
  page with the button.

Answers never say whether an address already follows: the same page and the
same limits whatever its state.
"""
