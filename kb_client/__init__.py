"""Python client for the kb-ingest service: `Client` (blocking) and `AsyncClient`, with retries,
token renewal, batching and polling built in. `kbi` is its command line.

    from kb_client import Client

    with Client("https://kb.example.com", client_id="…", client_secret="…") as kb:
        job_ids = kb.submit_records(kb_id, records)
        kb.wait_all(job_ids)
"""

from kb_client.aio import AsyncClient
from kb_client.backoff import Backoff
from kb_client.config import ClientConfig
from kb_client.endpoints import Page
from kb_client.models import Accepted, Job, KnowledgeBase, Progress
from kb_client.sync import Client
from kb_client.transport import RetryPolicy

__all__ = ["Accepted", "AsyncClient", "Backoff", "Client", "ClientConfig", "Job", "KnowledgeBase", "Page", "Progress",
           "RetryPolicy"]
