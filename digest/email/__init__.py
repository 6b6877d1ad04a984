"""The email: takes an edition, gives HTML (CSS inlined once) and text with per-recipient slots.

`render` renders and inlines each variant once; `prepare` gathers what every reader's message
shares; `message` builds one reader's RFC 5322 message; `checks` looks for clipping, link and
image problems; `preview` shows editors the email as a reader gets it; `templates_admin` copies
and checks operators' templates.
"""
