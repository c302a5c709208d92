"""License keys: one per paid purchase of a product that gives them.

- **Minting.** ``license_issue`` runs in the payment's own transaction, right
  after the entitlement is granted (``shop.services``); the key's one-to-one
  link to its entitlement makes it once per purchase, whatever retries come.
  The key is made from the product's pattern (``catalog/license_format.py``)
  and copies its activation limit.
- **Stored in plain.** Buyers read their key in the library at any time, so
  the key is kept as issued; lookups go through its SHA-256 (an index), and
  the key found is compared with ``hmac.compare_digest``.
- **Verification** (``license_verify``, behind ``POST /api/v1/licenses/verify``):
  a key of another seller's product is unknown. ``refunded`` follows the
  purchase's entitlement (a refund or a dispute revokes it), ``revoked`` the
  seller's own action. An activation is one conditional ``UPDATE`` (``uses <
  max_uses``), so parallel activations never pass the limit; a named
  ``instance`` counts once, however often it activates.
- **Seller actions** (``/sell/licenses/``, and the API): reset the
  activations, revoke, restore, or replace the key by a new one.
"""
