"""crossling: does a behaviour fine-tuned in one language transfer to others, and can
steering vectors close the gap?"""

from crossling.errors import CrosslingError

__version__ = "0.1.0"
__all__ = ["CrosslingError", "__version__"]
