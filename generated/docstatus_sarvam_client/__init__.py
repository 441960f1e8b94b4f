"""A client library for accessing Sarvam AI Document Intelligence"""

from .client import AuthenticatedClient, Client

__all__ = (
    "AuthenticatedClient",
    "Client",
)
