"""ecluse: read datasets through your home ecluse gateway from Python.

    from ecluse import Client, load_grant, EcluseDataset
    client = Client("~/.ecluse")                 # an identity made by `ecluse pki issue`
    grant = load_grant("lu-bc.grant")            # from `ecluse access request --save-grant`
    tensors = client.read(grant)                 # {"features": ndarray, "labels": ndarray}
    ds = EcluseDataset(client, grant, batch_size=64)   # torch IterableDataset, sharded by rank

Every chunk's SHA-256 digest (over its 64 KiB leaves) and the trailer's digest
of the whole stream (over the chunks' digests) are checked (ecluse.stream.Verifier); a mismatch
raises IntegrityError. Client.stream(..., progress=list) resumes a broken read.
Client.read keeps each read's receipt (client.last_receipt; save_receipt writes
it as the JSON `ecluse audit receipt verify` checks).
load_fetched(PATH) reads a file `ecluse fetch` wrote, refusing it
(ErasureNoticeError) while it holds rows an open erasure notice names.
"""
from .client import Client, load_grant, IntegrityError, receipt_json, save_receipt  # noqa: F401
from .stream import Verifier  # noqa: F401
from .fetched import ErasureNoticeError, load_fetched  # noqa: F401

try:  # torch is optional: the client works without it.
    from .torch_dataset import EcluseDataset  # noqa: F401
except ImportError:  # pragma: no cover
    pass
