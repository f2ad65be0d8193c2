"""Read models of the portal pages: what each page shows, in a constant number of queries.

Views stay thin: they scope the agreement to the user (``scoping``) and hand it to the
page's read model: ``dashboard`` for the dashboard, ``agreement.AgreementPage`` for the
agreement page (with its sections in ``objectives``, ``history``, ``incidents``,
``latency`` and ``maintenance``), ``live`` for the parts read on every request.
"""
