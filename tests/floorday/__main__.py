import sys

from tests.floorday.run import main

sys.exit(main())
