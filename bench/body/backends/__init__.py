"""Body-model backends, one module each; each registers itself in ``bench.body.model.BODY_MODELS``."""
