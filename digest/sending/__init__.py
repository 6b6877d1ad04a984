"""Sending: takes a prepared edition and its readers, gives one recorded delivery per reader.

`planning` writes the deliveries ledger, `loop` claims batches and hands them to a provider
(`providers/`), `throttle` keeps to the rate limit, `controls` are the operator's status,
pause, resume and cancel; `oneoff` and `confirmations` send single messages the same way.
"""
