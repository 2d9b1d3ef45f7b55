"""FreeSWITCH's CDRs (mod_cdr_csv files): the record of every call's end, read whatever the engine missed.

``format`` is the line (pure), ``files`` the directory and its rotated files,
``reader`` the greenlet that stores each node's CDRs once in ``call_cdr``.
"""
