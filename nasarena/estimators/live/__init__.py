"""Live training of NB201 networks: the ``live`` oracle and its parts (imports torch).

* :mod:`.data` - CIFAR-10/100 from a local folder and the generated ``synthetic`` dataset;
* :mod:`.trainer` - NB201's recipe with data and augmentation on the device (fast on a GPU);
* :mod:`.oracle` - :class:`~.oracle.LiveOracle`, registered as ``live``;
* :mod:`.cache` - the append-only Parquet cache of every evaluation;
* :mod:`.cli` - ``nasarena tabulate`` (cache -> table for the ``table`` oracle).

Nothing is imported here, so that ``import nasarena.estimators.live.cache`` stays light.
"""
