"""The cart, kept in the session.

The session stores ``{"lines": [{"p": <product id>, "a": "<typed amount>"}],
"from": {"ref": ..., "utm_source": ..., "utm_campaign": ...}}``: product ids
and, for pay-what-you-want products, the amount the buyer typed, exactly as
typed; and where the first product added was found (first touch). Nothing
in it is trusted: every price is computed again by ``shop.services`` when the
order is created. Django keeps session data when a
visitor signs in, so the cart survives logging in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.sessions.backends.base import SessionBase

from catalog.attribution import Attribution, attribution_from_form

SESSION_KEY = "cart"
MAX_LINES = 50


@dataclass(frozen=True, slots=True)
class CartLine:
    product_id: int
    amount: str | None


class Cart:
    def __init__(self, session: SessionBase) -> None:
        self.session = session

    def _raw(self) -> list[dict[str, Any]]:
        data = self.session.get(SESSION_KEY) or {}
        lines = data.get("lines") if isinstance(data, dict) else None
        return [line for line in lines or [] if isinstance(line, dict)]

    def _save(self, lines: list[dict[str, Any]]) -> None:
        data = self.session.get(SESSION_KEY)
        source = data.get("from") if isinstance(data, dict) else None
        self.session[SESSION_KEY] = {"lines": lines, "from": source or {}}

    @property
    def attribution(self) -> Attribution:
        data = self.session.get(SESSION_KEY)
        return attribution_from_form((data.get("from") if isinstance(data, dict) else None) or {})

    def remember_source(self, source: Attribution) -> None:
        """Keep where the buyer first came from; later visits don't overwrite it."""
        if any(source.as_dict().values()) and not any(self.attribution.as_dict().values()):
            data = self.session.get(SESSION_KEY)
            lines = data.get("lines", []) if isinstance(data, dict) else []
            self.session[SESSION_KEY] = {"lines": lines, "from": source.as_dict()}

    @property
    def lines(self) -> list[CartLine]:
        found: list[CartLine] = []
        for line in self._raw():
            try:
                product_id = int(line["p"])
            except (KeyError, TypeError, ValueError):
                continue
            amount = line.get("a")
            found.append(CartLine(product_id, str(amount)[:32] if amount is not None else None))
        return found

    def __len__(self) -> int:
        return len(self.lines)

    def add(self, product_id: int, amount: str | None = None) -> None:
        """Add a product, or update the amount of one already in the cart."""
        lines = [line for line in self._raw() if line.get("p") != product_id]
        if len(lines) >= MAX_LINES:
            lines = lines[1:]
        lines.append({"p": product_id, "a": amount})
        self._save(lines)

    def remove(self, product_id: int) -> None:
        self._save([line for line in self._raw() if line.get("p") != product_id])

    def clear(self) -> None:
        self.session.pop(SESSION_KEY, None)
