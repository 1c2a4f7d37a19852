"""Local HTTPS emulators of third-party DNS APIs (protocols.md), for the
integration tests.  Each runs a stdlib http.server over TLS in a thread of
the test process, records every request it receives and answers from data
the test sets up (known tokens, records, and per-token or per-zone faults).
"""
