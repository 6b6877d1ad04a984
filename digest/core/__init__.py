"""Basics every stage may use: errors, the database and its tables, keys, text helpers (writing
systems, sentences, the text part's wrapping), leases, the template environment and
per-recipient slots, and `App` (the services built from settings).

Basics import only basics (and `digest.settings`); no stage of the flow is imported from here.
"""
