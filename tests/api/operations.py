"""Every operation of the API, read from the API itself (a new one shows up here)."""

from __future__ import annotations

from dataclasses import dataclass

from shop.api.access import TokenAuth
from shop.api.endpoints import router


@dataclass(frozen=True)
class Operation:
    method: str
    path: str  # as declared: "/products/{product_id}"
    name: str
    scope: str


def operations() -> list[Operation]:
    found = []
    for path, view in router.path_operations.items():
        for op in view.operations:
            (auth,) = op.auth_callbacks
            assert isinstance(auth, TokenAuth), f"{op.view_func.__name__} has no token scope"
            for method in op.methods:
                found.append(Operation(method, path, op.view_func.__name__, auth.scope))
    return found


OPERATIONS = operations()
