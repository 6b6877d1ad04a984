"""What the parse workers' fork server loads before it forks them.

The parsing modules are imported once here and the objects they created are moved out of the
garbage collector's reach (`gc.freeze`): a collection in a worker would otherwise write to every
shared object's header and copy the fork server's pages into each worker.
"""

import gc

import digest.ingest.service  # noqa: F401  (imported for its side effect: the parsers loaded)

gc.freeze()
