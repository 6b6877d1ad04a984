"""Subscriber-list management: subscribers, list memberships, and the recipients of a send.

A library of its own: it does not import `digest`; `digest` asks it for recipients.
"""
