"""command_service."""
