"""Use cases: keyword-only functions taking a session and returning domain objects.

They never print and never exit; the CLI runs each in one transaction.
"""
