"""The built-in providers, one module each (``<name>.py``), holding everything about that provider.

The registry that lists them, loads each on first use and takes providers defined elsewhere is
``docstatus._registry`` (what a provider module defines is its ``ProviderModule``); what the
modules share is ``_kit``. Importing this package loads no provider module.
"""
