"""Generation backends: turn user-turn prompts into responses, one adapter at a time.

``base`` holds the interface (:class:`Backend`), shared types and the registry; ``hf``
(transformers, CPU/GPU, steering hooks) and ``vllm`` (GPU, optional extra) register lazily
and are imported only when :func:`get_backend` asks for them.
"""

from crossling.evaluate.backends.base import (
    BACKENDS,
    Backend,
    Generation,
    GenerationConfig,
    get_backend,
)

__all__ = ["BACKENDS", "Backend", "Generation", "GenerationConfig", "get_backend"]
