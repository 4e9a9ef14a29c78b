import sys

from actionkit.cli import main

sys.exit(main())
