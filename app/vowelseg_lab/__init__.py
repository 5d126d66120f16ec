"""vowelseg's lab: the training recipes (:mod:`vowelseg_lab.training`) and the
benchmarks (:mod:`vowelseg_lab.bench`), run by the ``vowelseg-lab`` command.

The lab imports the product (:mod:`vowelseg`); the product never imports the lab."""
