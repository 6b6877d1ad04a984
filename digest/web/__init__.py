"""The web app (`digest serve`): the editor's desk, operators' pages, public pages, webhooks."""
