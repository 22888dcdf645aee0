"""The storage operations written once for both databases, one module per noun (as in
``workhorse.backends.base``): plain functions over a ``Store``, each running the blocks that
bear its name in the database's ``queries.sql``. Each function's contract is the docstring of the
``Backend`` method of its name."""
