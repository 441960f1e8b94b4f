"""Polling on Celery workers with Redis (private; the public names are in ``docstatus.celery``).

- ``_budget``: one provider host's rate budget and 429 pauses, shared by every worker in Redis
  (the rate counted by ``limits``' moving window on Redis storage).
- ``_task``: the poll task's message (``WaitState`` inside), its step claims, outcome and delivery.
"""
