"""Signed webhooks: booking events delivered to the campaign's other systems (docs/webhooks.md)."""
