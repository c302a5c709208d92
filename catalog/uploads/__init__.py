"""Resumable uploads of big files (up to ``UPLOAD_MAX_BYTES``, 20 GiB by default).

No request ever holds a whole file: the bytes arrive in pieces and are written
straight to where they will live, so the memory an upload costs is one read
buffer (``READ_BYTES``), whatever the file's size.

The protocol (JSON over HTTP, all under ``/sell/uploads/``; every call needs
the seller's session and CSRF token, and every upload id passes the ownership
gate in ``catalog/access.py``):

``POST /sell/uploads/`` with ``{"product": id, "role": "deliverable" | "preview",
"filename": str, "size": int}`` opens an upload session and answers ``201``
with ``{"id", "backend", "size", "offset", "chunk_size", "part_size", "urls"}``,
or ``413`` when the file would not fit the seller's quota (``catalog/quotas.py``:
the announced size is reserved until the session ends) or the seller already
has as many sessions open as the quota allows.

Local backend (``backend == "local"``): the bytes go to the app.

- ``PATCH /sell/uploads/<id>/`` with the header ``Upload-Offset: N`` and up to
  ``chunk_size`` raw bytes (never more than ``CHUNK_MAX_BYTES``, refused
  with ``413`` before the body is read) as the body appends them at byte ``N`` of a
  ``.part`` file in the private storage (``uploads/<id>.part``). ``N`` must
  equal the bytes already received, otherwise ``409`` with the real offset:
  the size of the ``.part`` file is the only truth, so a chunk cut off by a
  dropped connection keeps what arrived and the client resumes from there.
  A second writer at the same time gets ``409`` too (the file is locked).
- ``GET /sell/uploads/<id>/`` answers ``{"offset": N, ...}``: resume from ``N``.

S3 backend (``backend == "s3"``): the bytes go straight to the bucket.

- The session is an S3 multipart upload at its final key (``assets/<id>.<ext>``
  in the private bucket). ``POST /sell/uploads/<id>/parts/`` with
  ``{"numbers": [1, 2, ...]}`` answers presigned ``upload_part`` URLs; the
  browser PUTs part ``n`` (bytes ``(n-1)*part_size`` to ``n*part_size``) to
  each. Only the last part may be shorter.
- ``GET /sell/uploads/<id>/`` lists the parts the bucket already holds
  (``{"parts": [{"number", "size"}]}``): resume by sending the others.

Both: ``POST /sell/uploads/<id>/finish/`` checks that every byte is there,
completes the multipart upload (S3: the server lists the parts itself, so the
browser never needs to read an ``ETag``), inspects the file and creates the
asset, or answers ``400`` with the reason and removes the bytes.
``DELETE /sell/uploads/<id>/`` abandons the upload. Sessions expire after
``UPLOAD_EXPIRY_HOURS``; ``manage.py purge_uploads`` removes their leftovers.

The package, after Zulip's ``zerver/lib/upload/``:

- ``base.py``: ``UploadBackend``, the abstract class every storage implements
  (the session methods below, and three plain stored-file methods), the
  errors (``UploadError`` and its kinds) and the sizes;
- ``local.py``: ``LocalUploadBackend``, chunks appended to a ``.part`` file;
- ``s3.py``: ``S3UploadBackend``, an S3 multipart upload with presigned parts;
- ``backends.py``: ``upload_backend(upload)`` picks the class named by
  ``UploadSession.backend``; ``private_files()`` the one for the private
  storage as configured now (a new session is opened with it);
- ``services.py``: ``upload_create``, ``upload_receive``, ``upload_finish``...:
  the rules (who, how big, which state) and every database write; they call
  the backend and never ask which one it is;
- ``views.py``: the JSON endpoints above, thin, behind ``catalog/access.py``.

A backend's session methods: ``start`` (open a session, fill its storage
fields), ``offset``, ``progress`` (what ``GET`` answers), ``receive`` (one
chunk), ``parts``, ``presign``, ``assemble`` (check every byte arrived and
make them one stored object), ``received_file`` (open it for inspection),
``place`` (move it to its final name in a storage, without a copy when the
storages allow) and ``discard``. Backends hold no rules and write no rows;
they may change the session's storage fields, which the services save.

Files derived from an asset (another format, a stamped copy) use the same
classes, through the three stored-file methods of ``private_files()``:
``file_save(name, content) -> stored name``, ``file_open(name) -> File``
(read in chunks) and ``file_delete(name)``, all in the private storage, which
never has a URL (delivery serves the bytes).
"""
