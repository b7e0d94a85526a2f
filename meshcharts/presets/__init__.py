"""Starting stacks, one per write-up scenario (``meshcharts init --preset``), and the code that writes them."""
