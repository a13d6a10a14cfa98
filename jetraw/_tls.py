"""The state server's TLS context: verifying from the start, CA certificates read on first use.

Loading certifi's bundle (~140 certificates) into an SSL context costs ~17 ms of CPU, and httpx
does it whenever a client is made, even one that only ever talks plain HTTP to a local server.
:class:`DeferredCAContext` is what ``ssl.create_default_context(cafile=...)`` builds, except that
the certificates are read on the first handshake (``wrap_socket``/``wrap_bio``, the two ways a
context is used), not at construction.

Why this cannot weaken verification: the context is a ``PROTOCOL_TLS_CLIENT`` context, which is
``CERT_REQUIRED`` with ``check_hostname`` from its creation; nothing here changes either. Until
the certificates are loaded it trusts no CA at all, so a handshake that somehow skipped the
loading would fail, never succeed unverified. The one context serves every request of the
client (redirect targets, proxies, a later ``https://`` URL alike): there is no second,
non-verifying path for a request to take.
"""

from __future__ import annotations

import os
import ssl
import sys
import threading
from typing import Any

__all__ = ["DeferredCAContext", "default_verify_context"]


class DeferredCAContext(ssl.SSLContext):
    """``ssl.create_default_context(cafile=, capath=)``, loading the CAs on the first handshake.

    Build it with :meth:`create`; ``SSLContext``'s own constructor is left as it is.
    """

    _ca_pending: tuple[str | None, str | None] | None
    _ca_lock: threading.Lock

    @classmethod
    def create(cls, *, cafile: str | None = None, capath: str | None = None) -> DeferredCAContext:
        """A verifying client context that will trust ``cafile``/``capath`` (else certifi's).

        Settings are those of ``ssl.create_default_context`` for server authentication.
        """
        ctx = cls(ssl.PROTOCOL_TLS_CLIENT)  # CERT_REQUIRED and check_hostname, by definition
        if sys.version_info >= (3, 13):  # what create_default_context adds since 3.13
            ctx.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN | ssl.VERIFY_X509_STRICT
        keylog = os.environ.get("SSLKEYLOGFILE")
        if keylog and not sys.flags.ignore_environment:
            ctx.keylog_filename = keylog
        ctx._ca_pending = (cafile, capath)
        ctx._ca_lock = threading.Lock()
        return ctx

    @property
    def ca_loaded(self) -> bool:
        """Whether the CA certificates have been loaded (after the first handshake)."""
        return self._ca_pending is None

    def load_ca(self) -> None:
        """Load the CA certificates now (once; thread-safe). Errors are ``ssl.SSLError``s."""
        if self._ca_pending is None:
            return
        with self._ca_lock:
            if self._ca_pending is None:
                return
            cafile, capath = self._ca_pending
            if cafile is None and capath is None:
                import certifi

                cafile = certifi.where()
            try:
                self.load_verify_locations(cafile=cafile, capath=capath)
            except OSError as error:  # a handshake error to httpx/httpcore: a ConnectError
                raise ssl.SSLError(f"cannot load CA certificates: {error}") from error
            self._ca_pending = None

    def wrap_socket(self, *args: Any, **kwargs: Any) -> ssl.SSLSocket:
        self.load_ca()
        return super().wrap_socket(*args, **kwargs)

    def wrap_bio(self, *args: Any, **kwargs: Any) -> ssl.SSLObject:
        self.load_ca()
        return super().wrap_bio(*args, **kwargs)


def default_verify_context(*, trust_env: bool = True) -> DeferredCAContext:
    """httpx's ``verify=True``, deferred: ``SSL_CERT_FILE``, ``SSL_CERT_DIR``, else certifi.

    Raises:
        FileNotFoundError: ``SSL_CERT_FILE`` or ``SSL_CERT_DIR`` names nothing (checked now, so
            a wrong variable fails at once, as it did when httpx loaded it at construction).
    """
    cafile = os.environ.get("SSL_CERT_FILE") if trust_env else None
    capath = os.environ.get("SSL_CERT_DIR") if trust_env and not cafile else None
    for name, value in (("SSL_CERT_FILE", cafile), ("SSL_CERT_DIR", capath)):
        if value and not os.path.exists(value):
            raise FileNotFoundError(f"{name}={value!r} does not exist")
    return DeferredCAContext.create(cafile=cafile or None, capath=capath or None)
