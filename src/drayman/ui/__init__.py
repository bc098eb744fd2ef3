"""The PySide6 window (``drayman gui``, the ``gui`` extra): a view of the job table
and a controller writing to it, on the engine's loop through qasync. Nothing in
the engine imports this package, and nothing here talks HTTP or touches the
database but through :class:`~drayman.queue.jobqueue.JobQueue`.
"""
