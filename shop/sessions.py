"""Sessions in the database, as Django keeps them, in one statement per write.

Django's database store asks whether a new random key is taken before it
inserts it, and wraps every save in a transaction. The key is the table's
primary key, so the insert itself says when a key is taken (``create()``
draws another, as it does after the question); and one INSERT or UPDATE
outside a transaction is atomic on its own. Inside a transaction the save
keeps its savepoint, so a refused key does not undo the caller's work.
"""

from __future__ import annotations

from contextlib import nullcontext

from django.contrib.sessions.backends import db
from django.contrib.sessions.backends.base import VALID_KEY_CHARS, CreateError, UpdateError
from django.db import DatabaseError, IntegrityError, connections, router, transaction
from django.utils.crypto import get_random_string


class SessionStore(db.SessionStore):
    def _get_new_session_key(self) -> str:
        # A clash (1 in 36^32) is refused by the primary key and create() tries again.
        return get_random_string(32, VALID_KEY_CHARS)

    def save(self, must_create: bool = False) -> None:
        if self.session_key is None:
            return self.create()
        data = self._get_session(no_load=must_create)  # type: ignore[attr-defined]
        obj = self.create_model_instance(data)
        using = router.db_for_write(self.model, instance=obj)
        nested = connections[using].in_atomic_block
        try:
            with transaction.atomic(using=using) if nested else nullcontext():
                obj.save(force_insert=must_create, force_update=not must_create, using=using)
        except IntegrityError:
            if must_create:
                raise CreateError from None
            raise
        except DatabaseError:
            if not must_create:
                raise UpdateError from None
            raise
