"""``python -m minitorch_unet.course lessons|build``."""
from .cli import main

raise SystemExit(main())
