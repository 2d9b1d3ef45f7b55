"""pytest plugin loaded first (``-p eslbridge.testing``): gevent must patch the
standard library before any other plugin imports ssl or sockets."""

from gevent import monkey

monkey.patch_all()
