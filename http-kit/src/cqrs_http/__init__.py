"""The HTTP platform of the CQRS services: one error shape, JWT roles, shared rate
limits, CORS, compression, body and time limits, applied the same way to every app."""
