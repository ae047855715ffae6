"""Tables and queries. Nothing in this package knows about Twilio or HTTP."""
