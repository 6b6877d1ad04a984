"""Editions: takes stories, gives an edition's content and owns its life.

`build` turns stories into sections, subject and preheader; `lifecycle` is the one place that
moves an edition between draft, approved, sending, sent, failed and cancelled; `editorial` is
what editors do to an edition by name and number.
"""
