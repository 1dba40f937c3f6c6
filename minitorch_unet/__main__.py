"""``python -m minitorch_unet <command>``: see :mod:`minitorch_unet.cli`."""
from .cli import main

raise SystemExit(main())
