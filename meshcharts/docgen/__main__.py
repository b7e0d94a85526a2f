import sys

from meshcharts.docgen.pages import main

sys.exit(main())
