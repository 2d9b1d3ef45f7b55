"""eslbridge: the outbound-dialing engine for FreeSWITCH."""

__version__ = "0.1.0"
