"""The delivery consumer and the admin routes of event handlers."""
